// Batch: one rank's slice of a global batch collated into contiguous tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/core/tensor.hpp"
#include "ddp/data/batch_sampler.hpp"
#include "ddp/data/dataset.hpp"

namespace ddp::data {

// A loss averaged over the local slice and scaled by local_n / global_n, then summed over ranks,
// is exactly the mean over the global batch, also for uneven or empty slices.
struct Batch {
  // float32 [local_n, sample_shape...] (int64 token ids for text); 0 rows when this rank's slice
  // is empty
  Tensor features;
  // int64 [local_n, label_shape...] class indices ([local_n] for one per sample, [local_n, T] for
  // text), for classification datasets; else undefined
  Tensor labels;
  Tensor targets;  // float32 [local_n, target_width], for regression datasets; else undefined
  std::int64_t local_n = 0;
  std::int64_t global_n = 0;
  std::int64_t epoch = 0;
  std::int64_t batch_index = 0;              // the global batch's position in its epoch
  std::vector<std::int64_t> sample_indices;  // the dataset indices in this slice, in row order
};

// Reads the plan's samples into a new batch on device. For a GPU they are collated in pinned host
// memory and copied on the device's stream, which orders the copy before any kernel that reads it.
Batch collate(const Dataset& dataset, const BatchPlan& plan, const Device& device = Device::cpu());

}  // namespace ddp::data
