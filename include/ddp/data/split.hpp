// Views of a dataset through a list of indices, and the deterministic train/validation split.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ddp/data/dataset.hpp"

namespace ddp::data {

// Sample i of the subset is sample indices[i] of the base dataset; the base is shared, not copied.
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices);

  std::int64_t size() const override { return static_cast<std::int64_t>(indices_.size()); }
  std::int64_t feature_count() const override { return base_->feature_count(); }
  Shape sample_shape() const override { return base_->sample_shape(); }
  std::int64_t class_count() const override { return base_->class_count(); }
  std::int64_t target_width() const override { return base_->target_width(); }
  DType feature_dtype() const override { return base_->feature_dtype(); }
  Shape label_shape() const override { return base_->label_shape(); }
  void get(std::int64_t index, const SampleSlot& slot) const override;

  const std::vector<std::int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::int64_t> indices_;
};

struct TrainValSplit {
  std::shared_ptr<const SubsetDataset> train;
  std::shared_ptr<const SubsetDataset> val;  // empty (size 0) when val_fraction is 0
};

// Holds out round(val_fraction * size) samples, chosen by a permutation from `seed` (the same on
// every rank); each side lists its base indices in increasing order. 0 <= val_fraction < 1.
TrainValSplit split_train_val(std::shared_ptr<const Dataset> dataset, double val_fraction,
                              std::uint64_t seed);
// Holds out the last round(val_fraction * size) samples: for text, whose neighbouring windows are
// one running text, validation then reads a passage training never saw.
TrainValSplit split_train_val_last(std::shared_ptr<const Dataset> dataset, double val_fraction);

}  // namespace ddp::data
