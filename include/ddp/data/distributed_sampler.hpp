// PyTorch's DistributedSampler (rank r takes r, r+N, r+2N, ... of a padded or trimmed epoch order),
// and its batched form for the loader.
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/data/batch_sampler.hpp"

namespace ddp::data {

struct DistributedSamplerOptions {
  // A new order each epoch from (seed, epoch); false visits the samples in dataset order.
  bool shuffle = true;
  // Must be the same on every rank, or the ranks' shares would overlap.
  std::uint64_t seed = 0;
  // Trims the order to a multiple of the world size; otherwise it is padded by repeating its first
  // indices, so a few samples count twice in the epoch.
  bool drop_last = false;
};

class DistributedSampler {
 public:
  DistributedSampler(std::int64_t dataset_size, const DistributedSamplerOptions& options, int rank,
                     int world_size);

  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  std::int64_t epoch() const { return epoch_; }
  // Samples each rank gets per epoch, the same on every rank.
  std::int64_t num_samples() const { return num_samples_; }
  std::int64_t total_size() const { return num_samples_ * world_size_; }
  int world_size() const { return world_size_; }
  // This rank's samples for the current epoch.
  std::vector<std::int64_t> indices() const;

 private:
  std::int64_t dataset_size_;
  DistributedSamplerOptions options_;
  int rank_;
  int world_size_;
  std::int64_t num_samples_;
  std::int64_t epoch_ = 0;
};

// DistributedSampler's share cut into local batches of `local_batch_size`; every rank has as many
// samples, so a global batch is local_n * world_size samples.
class DistributedBatchSampler : public BatchSampler {
 public:
  DistributedBatchSampler(DistributedSampler sampler, std::int64_t local_batch_size,
                          bool drop_last_batch = false);

  std::int64_t batches_per_epoch() const override;
  BatchPlan plan(std::int64_t epoch, std::int64_t batch_index) override;

 private:
  DistributedSampler sampler_;
  std::int64_t local_batch_size_;
  bool drop_last_batch_;
  std::int64_t cached_epoch_ = -1;
  std::vector<std::int64_t> indices_;
};

}  // namespace ddp::data
