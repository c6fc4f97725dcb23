// Builds ddp-train's datasets from --data and --val-data: synthetic[:N], csv:PATH,
// idx:IMAGES,LABELS, or a known dataset by name (fashion-mnist[:train|:test]).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ddp/core/tensor.hpp"
#include "ddp/data/dataset.hpp"
#include "ddp/data/normalize.hpp"

namespace ddp::train {

// What the model takes, and how every set is prepared for it.
struct DataShape {
  Shape sample;              // the model's sample shape; a set's samples hold as many values
  std::int64_t classes = 0;  // the model's output width
  std::optional<data::Normalization> normalization;  // --normalize
};

// The dataset a spec names, checked against the model's input size and output width; a bad spec or
// file is an InvalidArgument naming it and the flag that gave it ("--data", "--val-data"). Every
// rank builds the same dataset without communicating. A synthetic set is the built-in task of
// `seed` from its sample `first_synthetic_sample` on: a validation set (--val-data synthetic:N)
// starts after the training set's samples, so that it holds other samples of the same task.
std::shared_ptr<const data::Dataset> build_dataset(const std::string& flag, const std::string& spec,
                                                   const DataShape& shape, std::uint64_t seed,
                                                   std::int64_t first_synthetic_sample = 0);

}  // namespace ddp::train
