#include "ddp/core/allocator.hpp"

#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

#include "ddp/core/error.hpp"

namespace ddp {
namespace {

constexpr std::size_t kAlignment = 64;

class CpuAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes, const Device&) override {
    if (bytes == 0) return nullptr;
    std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* pointer = std::aligned_alloc(kAlignment, rounded);
    DDP_CHECK(pointer != nullptr, "out of host memory allocating " << bytes << " bytes");
    return pointer;
  }
  void deallocate(void* pointer, std::size_t, const Device&) override { std::free(pointer); }
  void copy(void* dst, const Device&, const void* src, const Device&, std::size_t bytes) override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
  }
  void zero(void* pointer, std::size_t bytes, const Device&) override {
    if (bytes > 0) std::memset(pointer, 0, bytes);
  }
};

std::array<Allocator*, 2>& registry() {
  static std::array<Allocator*, 2> allocators{&cpu_allocator(), nullptr};
  return allocators;
}

Allocator*& pinned_slot() {
  static Allocator* allocator = nullptr;
  return allocator;
}

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator allocator;
  return allocator;
}

Allocator& allocator_for(const Device& device) {
  Allocator* allocator = registry()[static_cast<std::size_t>(device.kind)];
  DDP_CHECK(allocator != nullptr,
            "no allocator for " << to_string(device) << ": this build of ddp has no CUDA support");
  return *allocator;
}

void register_allocator(Device::Kind kind, Allocator* allocator) {
  registry()[static_cast<std::size_t>(kind)] = allocator;
}

Allocator& pinned_allocator() {
  Allocator* allocator = pinned_slot();
  return allocator != nullptr ? *allocator : cpu_allocator();
}

void register_pinned_allocator(Allocator* allocator) {
  pinned_slot() = allocator;
}

}  // namespace ddp
