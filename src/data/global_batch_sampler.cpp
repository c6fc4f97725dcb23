#include "ddp/data/global_batch_sampler.hpp"

#include <algorithm>

#include "ddp/core/error.hpp"
#include "ddp/data/shuffle.hpp"

namespace ddp::data {

ChunkBounds chunk_bounds(std::int64_t batch_size, int world_size, int rank) {
  DDP_CHECK(batch_size >= 0 && world_size >= 1 && 0 <= rank && rank < world_size,
            "chunk_bounds: batch " << batch_size << ", rank " << rank << " of " << world_size);
  const std::int64_t chunk = (batch_size + world_size - 1) / world_size;
  return {std::min(rank * chunk, batch_size), std::min((rank + 1) * chunk, batch_size)};
}

GlobalBatchSampler::GlobalBatchSampler(std::int64_t dataset_size, const GlobalBatchOptions& options,
                                       int rank, int world_size)
    : dataset_size_(dataset_size), options_(options), rank_(rank), world_size_(world_size) {
  DDP_CHECK_ARG(dataset_size >= 0, "dataset size " << dataset_size << " is negative");
  DDP_CHECK_ARG(options.global_batch_size >= 1,
                "global batch size " << options.global_batch_size << " must be at least 1");
  DDP_CHECK_ARG(world_size >= 1 && 0 <= rank && rank < world_size,
                "rank " << rank << " is not in a world of " << world_size);
}

GlobalBatchSampler GlobalBatchSampler::for_evaluation(std::int64_t dataset_size,
                                                      std::int64_t global_batch_size, int rank,
                                                      int world_size) {
  return GlobalBatchSampler(
      dataset_size, {.global_batch_size = global_batch_size, .shuffle = false, .drop_last = false},
      rank, world_size);
}

std::int64_t GlobalBatchSampler::batches_per_epoch() const {
  const std::int64_t batch = options_.global_batch_size;
  return options_.drop_last ? dataset_size_ / batch : (dataset_size_ + batch - 1) / batch;
}

BatchPlan GlobalBatchSampler::plan(std::int64_t epoch, std::int64_t batch_index) {
  DDP_CHECK(epoch >= 0 && 0 <= batch_index && batch_index < batches_per_epoch(),
            "batch " << batch_index << " of epoch " << epoch << " does not exist (an epoch has "
                     << batches_per_epoch() << " batches)");
  if (epoch != cached_epoch_) {
    order_ = epoch_order(dataset_size_, options_.shuffle, options_.seed, epoch);
    cached_epoch_ = epoch;
  }
  const std::int64_t begin = batch_index * options_.global_batch_size;
  const std::int64_t end = std::min(begin + options_.global_batch_size, dataset_size_);
  const ChunkBounds chunk = chunk_bounds(end - begin, world_size_, rank_);
  BatchPlan plan{
      .epoch = epoch, .batch_index = batch_index, .global_n = end - begin, .indices = {}};
  plan.indices.assign(order_.begin() + begin + chunk.begin, order_.begin() + begin + chunk.end);
  return plan;
}

}  // namespace ddp::data
