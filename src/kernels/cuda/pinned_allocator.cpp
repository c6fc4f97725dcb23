// Pinned host memory for batches bound for a GPU (core's pinned_allocator in a CUDA build): blocks
// from cudaHostAlloc, kept by size for reuse, since pinning pages costs far more than a step.
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda_check.hpp"
#include "ddp/core/allocator.hpp"
#include "ddp/kernels/cuda_device.hpp"

namespace ddp::kernels {
namespace {

// A loader asks for the same batch sizes every step; pages keep the classes few.
constexpr std::size_t kPage = 4096;

std::size_t rounded(std::size_t bytes) {
  return (bytes + kPage - 1) / kPage * kPage;
}

class PinnedAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes, const Device& device) override {
    // Without a usable GPU nothing can pin pages, and nothing needs them pinned.
    if (cuda_device_count() == 0) return cpu_allocator().allocate(bytes, device);
    if (bytes == 0) return nullptr;
    std::size_t size = rounded(bytes);
    {
      std::lock_guard lock(mutex_);
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

  // Copies from and to pinned memory finish before Allocator::copy returns, so a freed block is
  // idle and may be handed out again at once.
  void deallocate(void* pointer, std::size_t bytes, const Device& device) override {
    if (cuda_device_count() == 0) return cpu_allocator().deallocate(pointer, bytes, device);
    if (pointer == nullptr) return;
    std::lock_guard lock(mutex_);
    free_blocks_[rounded(bytes)].push_back(pointer);
  }

  void copy(void* dst, const Device& dst_device, const void* src, const Device& src_device,
            std::size_t bytes) override {
    cpu_allocator().copy(dst, dst_device, src, src_device, bytes);
  }

  void zero(void* pointer, std::size_t bytes, const Device& device) override {
    cpu_allocator().zero(pointer, bytes, device);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks_;  // by rounded size
};

// Never destroyed: pinned tensors in static objects may be freed during static destruction.
[[maybe_unused]] const bool registered = [] {
  register_pinned_allocator(new PinnedAllocator);
  return true;
}();

}  // namespace
}  // namespace ddp::kernels
