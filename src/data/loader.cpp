#include "ddp/data/loader.hpp"

#include <utility>

#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"

namespace ddp::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset,
                       std::unique_ptr<BatchSampler> sampler, const LoaderOptions& options)
    : dataset_(std::move(dataset)), sampler_(std::move(sampler)), options_(options) {
  DDP_CHECK(dataset_ != nullptr && sampler_ != nullptr, "DataLoader needs a dataset and a sampler");
  DDP_CHECK_ARG(options.prefetch >= 0, "prefetch " << options.prefetch << " is negative");
  batches_per_epoch_ = sampler_->batches_per_epoch();
}

DataLoader::~DataLoader() {
  stop_reader();
}

void DataLoader::stop() {
  stop_reader();
  started_ = false;
}

void DataLoader::stop_reader() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  not_full_.notify_all();
  if (reader_.joinable()) reader_.join();
  queue_.clear();
  stop_requested_ = false;
}

void DataLoader::start_epoch(std::int64_t epoch, std::int64_t first_batch) {
  DDP_CHECK_ARG(epoch >= 0 && 0 <= first_batch && first_batch <= batches_per_epoch_,
                "cannot start epoch " << epoch << " at batch " << first_batch << " (an epoch has "
                                      << batches_per_epoch_ << " batches)");
  stop_reader();
  started_ = true;
  epoch_ = epoch;
  next_batch_ = first_batch;
  error_ = nullptr;
  if (options_.prefetch > 0 && first_batch < batches_per_epoch_) {
    reader_ = std::thread(&DataLoader::read, this, epoch, first_batch);
  }
}

void DataLoader::read(std::int64_t epoch, std::int64_t first_batch) {
  const auto capacity = static_cast<std::size_t>(options_.prefetch);
  for (std::int64_t b = first_batch; b < batches_per_epoch_; ++b) {
    {
      // Waiting for room before reading keeps at most `prefetch` batches ahead of the caller.
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [&] { return stop_requested_ || queue_.size() < capacity; });
      if (stop_requested_) return;
    }
    Item item;
    try {
      // A new thread's CUDA calls (pinned allocations too) would otherwise go to device 0, making
      // a context there for every rank of a multi-GPU host.
      if (b == first_batch && options_.device.is_cuda()) {
        kernels::set_cuda_device(options_.device.index);
      }
      item.batch = collate(*dataset_, sampler_->plan(epoch, b), options_.device);
    } catch (...) {
      item.error = std::current_exception();
    }
    const bool failed = item.error != nullptr;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    if (failed) return;
  }
}

std::optional<Batch> DataLoader::next() {
  DDP_CHECK(started_, "DataLoader::next without an epoch: call start_epoch first");
  if (error_) std::rethrow_exception(error_);
  if (next_batch_ >= batches_per_epoch_) return std::nullopt;
  if (options_.prefetch == 0) {
    try {
      Batch batch = collate(*dataset_, sampler_->plan(epoch_, next_batch_), options_.device);
      ++next_batch_;
      return batch;
    } catch (...) {
      error_ = std::current_exception();
      throw;
    }
  }
  Item item;
  {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  not_full_.notify_one();
  if (item.error) {
    error_ = item.error;
    std::rethrow_exception(error_);
  }
  ++next_batch_;
  return std::move(item.batch);
}

SamplerState DataLoader::state() const {
  if (next_batch_ >= batches_per_epoch_) return {epoch_ + 1, 0};
  return {epoch_, next_batch_};
}

}  // namespace ddp::data
