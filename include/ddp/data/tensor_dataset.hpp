// TensorDataset: samples held in memory as one features tensor and an optional labels or targets
// one.
#pragma once

#include "ddp/core/tensor.hpp"
#include "ddp/data/dataset.hpp"

namespace ddp::data {

class TensorDataset : public Dataset {
 public:
  // features: float32 [n, k] on the CPU, or [n, d1, d2, ...] for samples with a shape (images:
  // [n, channels, height, width]). targets, when defined, is either int64 [n] class labels
  // (checked against [0, class_count); class_count 0 takes the largest label + 1) or float32 [n]
  // or [n, w] regression targets (class_count must then be 0).
  explicit TensorDataset(Tensor features, Tensor targets = {}, std::int64_t class_count = 0);

  std::int64_t size() const override { return features_.size(0); }
  std::int64_t feature_count() const override { return feature_count_; }
  Shape sample_shape() const override;
  std::int64_t class_count() const override { return class_count_; }
  std::int64_t target_width() const override { return target_width_; }
  void get(std::int64_t index, const SampleSlot& slot) const override;

  const Tensor& features() const { return features_; }
  // int64 [n] labels or float32 targets, or undefined.
  const Tensor& targets() const { return targets_; }

 private:
  Tensor features_;
  Tensor targets_;
  std::int64_t feature_count_ = 0;
  std::int64_t class_count_ = 0;
  std::int64_t target_width_ = 0;
};

// Every sample of dataset read once into memory: a dataset that computes its samples (the
// synthetic task) then costs nothing per epoch.
TensorDataset load_into_memory(const Dataset& dataset);

}  // namespace ddp::data
