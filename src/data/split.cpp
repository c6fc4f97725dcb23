#include "ddp/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/data/shuffle.hpp"

namespace ddp::data {
namespace {

// Keeps the split's permutation independent of every epoch's shuffle drawn from the same seed.
constexpr std::uint64_t kSplitStream = 0x73706c6974;  // "split"

}  // namespace

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  DDP_CHECK(base_ != nullptr, "SubsetDataset of no dataset");
  for (std::int64_t index : indices_) {
    DDP_CHECK(0 <= index && index < base_->size(),
              "subset index " << index << " outside a dataset of " << base_->size() << " samples");
  }
}

void SubsetDataset::get(std::int64_t index, const SampleSlot& slot) const {
  base_->get(indices_[static_cast<std::size_t>(index)], slot);
}

namespace {

// round(val_fraction * size), checked to leave training samples.
std::int64_t validation_count(const Dataset* dataset, double val_fraction) {
  DDP_CHECK(dataset != nullptr, "split_train_val of no dataset");
  DDP_CHECK_ARG(val_fraction >= 0.0 && val_fraction < 1.0,
                "validation fraction " << val_fraction << " must be in [0, 1)");
  const std::int64_t size = dataset->size();
  const auto val_count = static_cast<std::int64_t>(std::llround(val_fraction * size));
  DDP_CHECK_ARG(size == 0 || val_count < size, "validation fraction " << val_fraction << " of "
                                                                      << size
                                                                      << " samples leaves none "
                                                                         "for training");
  return val_count;
}

}  // namespace

TrainValSplit split_train_val(std::shared_ptr<const Dataset> dataset, double val_fraction,
                              std::uint64_t seed) {
  const std::int64_t val_count = validation_count(dataset.get(), val_fraction);
  const std::int64_t size = dataset->size();
  std::vector<std::int64_t> order = epoch_order(size, true, derive_seed(seed, kSplitStream), 0);
  std::vector<std::int64_t> val(order.begin(), order.begin() + val_count);
  std::vector<std::int64_t> train(order.begin() + val_count, order.end());
  // Increasing order reads files front to back; the sampler shuffles anyway.
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  return {std::make_shared<const SubsetDataset>(dataset, std::move(train)),
          std::make_shared<const SubsetDataset>(dataset, std::move(val))};
}

TrainValSplit split_train_val_last(std::shared_ptr<const Dataset> dataset, double val_fraction) {
  const std::int64_t val_count = validation_count(dataset.get(), val_fraction);
  const std::int64_t size = dataset->size();
  std::vector<std::int64_t> train(static_cast<std::size_t>(size - val_count));
  std::vector<std::int64_t> val(static_cast<std::size_t>(val_count));
  std::iota(train.begin(), train.end(), std::int64_t{0});
  std::iota(val.begin(), val.end(), size - val_count);
  return {std::make_shared<const SubsetDataset>(dataset, std::move(train)),
          std::make_shared<const SubsetDataset>(dataset, std::move(val))};
}

}  // namespace ddp::data
