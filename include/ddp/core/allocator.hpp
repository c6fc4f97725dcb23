// Where tensor memory comes from: one allocator per device kind; the CUDA build registers its own.
#pragma once

#include <cstddef>

#include "ddp/core/device.hpp"

namespace ddp {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t bytes, const Device& device) = 0;
  virtual void deallocate(void* pointer, std::size_t bytes, const Device& device) = 0;
};

// 64-byte aligned host memory (a cache line, and what AVX-512 loads like).
Allocator& cpu_allocator();

// The allocator for a device; an Error when none is registered for its kind (a build without CUDA).
Allocator& allocator_for(const Device& device);
void register_allocator(Device::Kind kind, Allocator* allocator);

}  // namespace ddp
