// BatchSampler: which samples this rank reads for each global batch of an epoch, and where it
// stands.
#pragma once

#include <cstdint>
#include <vector>

namespace ddp::data {

// This rank's share of one global batch.
struct BatchPlan {
  std::int64_t epoch = 0;
  std::int64_t batch_index = 0;  // the global batch's position in its epoch, the same on every rank
  std::int64_t global_n = 0;     // samples in the whole global batch, summed over all ranks
  std::vector<std::int64_t> indices;  // this rank's samples, in order; may be empty
};

// Where a run stands, for checkpoints: the next batch it will consume. Restoring it (and the
// model) continues mid-epoch with exactly the batches an uninterrupted run would have seen.
struct SamplerState {
  std::int64_t epoch = 0;
  std::int64_t next_batch = 0;
  bool operator==(const SamplerState&) const = default;
};

// Every rank of a job owns a sampler with the same settings and its own rank; they agree on
// batches_per_epoch() and each plan's global_n without communicating.
class BatchSampler {
 public:
  virtual ~BatchSampler() = default;

  virtual std::int64_t batches_per_epoch() const = 0;
  // Not thread-safe (it caches the epoch's order): one caller at a time, cheapest in order.
  virtual BatchPlan plan(std::int64_t epoch, std::int64_t batch_index) = 0;
};

}  // namespace ddp::data
