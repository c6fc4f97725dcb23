// Builds ddp-train's datasets from --data and --val-data: synthetic[:N], csv:PATH,
// idx:IMAGES,LABELS, a known dataset by name (fashion-mnist[:train|:test]), or text for a language
// model: text:PATH[,PATH...] or text:fortunes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ddp/core/tensor.hpp"
#include "ddp/data/dataset.hpp"
#include "ddp/data/normalize.hpp"
#include "ddp/data/tensor_dataset.hpp"

namespace ddp::train {

// What the model takes, and how every set is prepared for it.
struct DataShape {
  Shape sample;               // the model's sample shape; a set's samples hold as many values
  std::int64_t classes = 0;   // the model's output width
  std::int64_t sequence = 0;  // a language model's context (ModelSignature::sequence); 0: none
  std::optional<data::Normalization> normalization;  // --normalize
};

// The dataset a spec names as it is, not yet fitted to a model: a synthetic set in shape's sample
// shape and classes; a file's own, with its classes the labels' maximum + 1 when shape.classes is
// 0. A bad spec or file is an InvalidArgument naming it and the flag that gave it ("--data",
// "--val-data"). Every rank builds the same dataset without communicating. A synthetic set is the
// built-in task of `seed` from its sample `first_synthetic_sample` on: a validation set
// (--val-data synthetic:N) starts after the training set's samples, so that it holds other
// samples of the same task.
std::shared_ptr<const data::TensorDataset> load_dataset(const std::string& flag,
                                                        const std::string& spec,
                                                        const DataShape& shape, std::uint64_t seed,
                                                        std::int64_t first_synthetic_sample = 0);

// dataset checked against the model's input size (an InvalidArgument that names the flag and
// says to change --model) and normalised as shape asks.
std::shared_ptr<const data::Dataset> fit_to_model(
    const std::string& flag, const std::string& spec,
    std::shared_ptr<const data::TensorDataset> dataset, const DataShape& shape);

// load_dataset, then fit_to_model; for text, the text dataset in windows of shape.sequence, checked
// against the model (a language model of at least 256 classes).
std::shared_ptr<const data::Dataset> build_dataset(const std::string& flag, const std::string& spec,
                                                   const DataShape& shape, std::uint64_t seed,
                                                   std::int64_t first_synthetic_sample = 0);

// Whether spec names the built-in synthetic task, which takes its shape from the model.
bool is_synthetic(const std::string& spec);
// Whether spec names text (text:...), cut into windows of the model's context.
bool is_text(const std::string& spec);

}  // namespace ddp::train
