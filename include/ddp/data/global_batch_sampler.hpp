// The DataParallel mapping: each global batch of B samples is cut with torch.chunk's sizes, one
// chunk per rank, so every world size sees the same global batches (the tutorial's 8,8,8,6).
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/data/batch_sampler.hpp"

namespace ddp::data {

// Rows [begin, end) of a batch of `batch_size` that torch.chunk(batch, world_size) gives `rank`:
// chunks of ceil(batch_size / world_size), the last one shorter, and empty ones for ranks past the
// end (10 over 8 is 2,2,2,2,2,0,0,0).
struct ChunkBounds {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};
ChunkBounds chunk_bounds(std::int64_t batch_size, int world_size, int rank);

struct GlobalBatchOptions {
  // Samples per optimizer step over all ranks; each rank reads at most ceil(B / world_size).
  std::int64_t global_batch_size = 64;
  // A new order each epoch from (seed, epoch); false visits the samples in dataset order.
  bool shuffle = true;
  // Must be the same on every rank, or the ranks' slices would overlap and miss samples.
  std::uint64_t seed = 0;
  // Drops the epoch's last, short global batch; its samples are then not seen that epoch.
  bool drop_last = false;
};

class GlobalBatchSampler : public BatchSampler {
 public:
  GlobalBatchSampler(std::int64_t dataset_size, const GlobalBatchOptions& options, int rank,
                     int world_size);

  // Evaluation: dataset order, no drop, no padding, so every sample is seen exactly once over all
  // ranks and metrics summed over ranks are exact for any world size.
  static GlobalBatchSampler for_evaluation(std::int64_t dataset_size,
                                           std::int64_t global_batch_size, int rank,
                                           int world_size);

  std::int64_t batches_per_epoch() const override;
  BatchPlan plan(std::int64_t epoch, std::int64_t batch_index) override;

 private:
  std::int64_t dataset_size_;
  GlobalBatchOptions options_;
  int rank_;
  int world_size_;
  std::int64_t cached_epoch_ = -1;
  std::vector<std::int64_t> order_;
};

}  // namespace ddp::data
