// Pinned host memory for batches bound for a GPU (core's pinned_allocator in a CUDA build): blocks
// from cudaHostAlloc, kept by size for reuse, since pinning pages costs far more than a step.
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda_check.hpp"
#include "ddp/core/allocator.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::kernels {
namespace {

// A loader asks for the same batch sizes every step; pages keep the classes few.
constexpr std::size_t kPage = 4096;

std::size_t rounded(std::size_t bytes) {
  return (bytes + kPage - 1) / kPage * kPage;
}

// Copies to a GPU read pinned memory on the device's copy stream after Allocator::copy returns
// (allocator.cpp), so a freed block waits until every copy stream issued so far has passed it; a
// later allocation takes it back without waiting for the device.
class PinnedAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes, const Device& device) override {
    // Without a usable GPU nothing can pin pages, and nothing needs them pinned.
    if (cuda_device_count() == 0) return cpu_allocator().allocate(bytes, device);
    if (bytes == 0) return nullptr;
    std::size_t size = rounded(bytes);
    {
      std::lock_guard lock(mutex_);
      reclaim_copied();
      std::vector<void*>& cached = free_blocks_[size];
      if (!cached.empty()) {
        void* block = cached.back();
        cached.pop_back();
        return block;
      }
    }
    void* block = nullptr;
    DDP_CUDA_CHECK(cudaHostAlloc(&block, size, cudaHostAllocDefault));
    return block;
  }

  void deallocate(void* pointer, std::size_t bytes, const Device& device) override {
    if (cuda_device_count() == 0) return cpu_allocator().deallocate(pointer, bytes, device);
    if (pointer == nullptr) return;
    Pending pending{pointer, rounded(bytes), {}};
    std::lock_guard lock(mutex_);
    try {
      for (int d = 0; d < cuda_device_count(); ++d) {
        if (!cuda::has_stream(d, CudaStream::copy)) continue;
        std::unique_ptr<CudaEvent> event = spare_event(d);
        event->record(CudaStream::copy);
        pending.copies_issued.push_back(std::move(event));
      }
    } catch (const Error&) {
      // No fence (the runtime is going away at exit, say): the block is never handed out again.
      return;
    }
    pending_.push_back(std::move(pending));
  }

  void copy(void* dst, const Device& dst_device, const void* src, const Device& src_device,
            std::size_t bytes) override {
    cpu_allocator().copy(dst, dst_device, src, src_device, bytes);
  }

  void zero(void* pointer, std::size_t bytes, const Device& device) override {
    cpu_allocator().zero(pointer, bytes, device);
  }

 private:
  struct Pending {
    void* block;
    std::size_t size;
    std::vector<std::unique_ptr<CudaEvent>> copies_issued;  // on each copy stream at free time
  };

  // Moves the blocks whose copies are done to the free lists; the caller holds mutex_.
  void reclaim_copied() {
    std::erase_if(pending_, [this](Pending& pending) {
      for (const auto& event : pending.copies_issued) {
        if (!event->query()) return false;
      }
      free_blocks_[pending.size].push_back(pending.block);
      for (auto& event : pending.copies_issued) spare_events_.push_back(std::move(event));
      return true;
    });
  }

  // An event of device from the spares, or a new one; the caller holds mutex_.
  std::unique_ptr<CudaEvent> spare_event(int device) {
    for (auto it = spare_events_.begin(); it != spare_events_.end(); ++it) {
      if ((*it)->device() != device) continue;
      std::unique_ptr<CudaEvent> event = std::move(*it);
      spare_events_.erase(it);
      return event;
    }
    return std::make_unique<CudaEvent>(device);
  }

  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks_;  // by rounded size
  std::vector<Pending> pending_;                                     // freed, maybe still copied
  std::vector<std::unique_ptr<CudaEvent>> spare_events_;
};

// Never destroyed: pinned tensors in static objects may be freed during static destruction.
[[maybe_unused]] const bool registered = [] {
  register_pinned_allocator(new PinnedAllocator);
  return true;
}();

}  // namespace
}  // namespace ddp::kernels
