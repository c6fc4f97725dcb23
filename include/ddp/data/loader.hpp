// DataLoader: reads and collates the next batches on a background thread while the caller computes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "ddp/data/batch.hpp"
#include "ddp/data/batch_sampler.hpp"
#include "ddp/data/dataset.hpp"

namespace ddp::data {

struct LoaderOptions {
  // Batches read ahead of the caller (memory: that many batches); 0 reads on the caller's thread.
  int prefetch = 2;
  // Where batches come out. On a GPU the reader thread also does the copy (from pinned memory),
  // so that the caller's thread only launches work.
  Device device = Device::cpu();
};

// Batches come out in the sampler's order whatever the timing. An exception thrown while reading a
// batch is rethrown by the next() that would have returned that batch, and by every later call.
class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, std::unique_ptr<BatchSampler> sampler,
             const LoaderOptions& options = {});
  ~DataLoader();  // stops the reader and joins it, also mid-epoch
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts reading `epoch` from batch `first_batch` (a saved state's next_batch to resume),
  // dropping whatever was read ahead before.
  void start_epoch(std::int64_t epoch, std::int64_t first_batch = 0);
  void start_epoch(const SamplerState& state) { start_epoch(state.epoch, state.next_batch); }
  // The epoch's next batch, or nothing once it is over.
  std::optional<Batch> next();
  // Stops the reader and drops the batches read ahead; next() then needs a start_epoch() first,
  // while state() still says where the caller stood.
  void stop();

  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // The next batch the caller will get, as {epoch + 1, 0} once an epoch is used up: save it in a
  // checkpoint and pass it to start_epoch() to resume.
  SamplerState state() const;

 private:
  struct Item {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  void read(std::int64_t epoch, std::int64_t first_batch);
  void stop_reader();

  std::shared_ptr<const Dataset> dataset_;
  std::unique_ptr<BatchSampler> sampler_;
  LoaderOptions options_;
  std::int64_t batches_per_epoch_;

  bool started_ = false;
  std::int64_t epoch_ = 0;
  std::int64_t next_batch_ = 0;
  std::exception_ptr error_;

  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Item> queue_;
  bool stop_requested_ = false;
  std::thread reader_;
};

}  // namespace ddp::data
