// Where tensor memory comes from: one allocator per device kind; the CUDA build registers its own.
// An allocator also moves and clears the bytes of its kind, so that core reaches device memory
// through this interface alone and never includes a CUDA header.
#pragma once

#include <cstddef>

#include "ddp/core/device.hpp"

namespace ddp {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t bytes, const Device& device) = 0;
  virtual void deallocate(void* pointer, std::size_t bytes, const Device& device) = 0;
  // Copies bytes between two buffers, at least one of them of this allocator's kind (the other may
  // be host memory); they may overlap only when they are the same. When copy returns, host memory
  // on either side is done with (src may be overwritten, dst read), but for pinned memory bound for
  // a GPU (see Tensor::empty_pinned); device memory is written in
  // its device's order of work, before any later copy or kernel there. Tensor::copy_ calls the
  // allocator of the non-CPU side.
  virtual void copy(void* dst, const Device& dst_device, const void* src, const Device& src_device,
                    std::size_t bytes) = 0;
  // Sets bytes of this allocator's memory to zero.
  virtual void zero(void* pointer, std::size_t bytes, const Device& device) = 0;
};

// 64-byte aligned host memory (a cache line, and what AVX-512 loads like).
Allocator& cpu_allocator();

// The allocator for a device; an Error when none is registered for its kind (a build without CUDA).
Allocator& allocator_for(const Device& device);
void register_allocator(Device::Kind kind, Allocator* allocator);

// Page-locked host memory, which a GPU's copy engine reads and writes directly (no staging copy):
// where the loader collates batches bound for a GPU. The CUDA build registers one; without it this
// is cpu_allocator().
Allocator& pinned_allocator();
void register_pinned_allocator(Allocator* allocator);

}  // namespace ddp
