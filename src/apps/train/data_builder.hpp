// Builds ddp-train's datasets from --data and --val-data: synthetic[:N], csv:PATH,
// idx:IMAGES,LABELS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ddp/data/dataset.hpp"

namespace ddp::train {

struct DataShape {
  std::int64_t features = 0;  // the model's input width
  std::int64_t classes = 0;   // the model's output width
};

// The dataset a spec names, checked against the model's input and output widths; a bad spec or
// file is an InvalidArgument naming it and the flag that gave it ("--data", "--val-data"). Every
// rank builds the same dataset without communicating. A synthetic set is the built-in task of
// `seed` from its sample `first_synthetic_sample` on: a validation set (--val-data synthetic:N)
// starts after the training set's samples, so that it holds other samples of the same task.
std::shared_ptr<const data::Dataset> build_dataset(const std::string& flag, const std::string& spec,
                                                   const DataShape& shape, std::uint64_t seed,
                                                   std::int64_t first_synthetic_sample = 0);

}  // namespace ddp::train
