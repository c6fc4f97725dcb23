#include "ddp/data/distributed_sampler.hpp"

#include <algorithm>
#include <utility>

#include "ddp/core/error.hpp"
#include "ddp/data/shuffle.hpp"

namespace ddp::data {

DistributedSampler::DistributedSampler(std::int64_t dataset_size,
                                       const DistributedSamplerOptions& options, int rank,
                                       int world_size)
    : dataset_size_(dataset_size), options_(options), rank_(rank), world_size_(world_size) {
  DDP_CHECK_ARG(dataset_size >= 0, "dataset size " << dataset_size << " is negative");
  DDP_CHECK_ARG(world_size >= 1 && 0 <= rank && rank < world_size,
                "rank " << rank << " is not in a world of " << world_size);
  // PyTorch: floor(n / N) with drop_last, ceil(n / N) with padding.
  num_samples_ =
      options.drop_last ? dataset_size / world_size : (dataset_size + world_size - 1) / world_size;
}

std::vector<std::int64_t> DistributedSampler::indices() const {
  const std::vector<std::int64_t> order =
      epoch_order(dataset_size_, options_.shuffle, options_.seed, epoch_);
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples_));
  // Position i of the padded order is order[i % n]: padding repeats the order from its start.
  for (std::int64_t i = rank_; i < total_size(); i += world_size_) {
    mine.push_back(order[static_cast<std::size_t>(i % dataset_size_)]);
  }
  return mine;
}

DistributedBatchSampler::DistributedBatchSampler(DistributedSampler sampler,
                                                 std::int64_t local_batch_size,
                                                 bool drop_last_batch)
    : sampler_(std::move(sampler)),
      local_batch_size_(local_batch_size),
      drop_last_batch_(drop_last_batch) {
  DDP_CHECK_ARG(local_batch_size >= 1,
                "batch size per rank " << local_batch_size << " must be at least 1");
}

std::int64_t DistributedBatchSampler::batches_per_epoch() const {
  const std::int64_t samples = sampler_.num_samples();
  return drop_last_batch_ ? samples / local_batch_size_
                          : (samples + local_batch_size_ - 1) / local_batch_size_;
}

BatchPlan DistributedBatchSampler::plan(std::int64_t epoch, std::int64_t batch_index) {
  DDP_CHECK(epoch >= 0 && 0 <= batch_index && batch_index < batches_per_epoch(),
            "batch " << batch_index << " of epoch " << epoch << " does not exist (an epoch has "
                     << batches_per_epoch() << " batches)");
  if (epoch != cached_epoch_) {
    sampler_.set_epoch(epoch);
    indices_ = sampler_.indices();
    cached_epoch_ = epoch;
  }
  const std::int64_t begin = batch_index * local_batch_size_;
  const std::int64_t end = std::min(begin + local_batch_size_, sampler_.num_samples());
  BatchPlan plan{.epoch = epoch,
                 .batch_index = batch_index,
                 .global_n = (end - begin) * sampler_.world_size(),
                 .indices = {}};
  plan.indices.assign(indices_.begin() + begin, indices_.begin() + end);
  return plan;
}

}  // namespace ddp::data
