// The caching allocator behind CUDA tensors: what it holds, and giving its cache back to the
// driver.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ddp::kernels {

// One device's memory as the caching allocator sees it.
struct CudaMemoryStats {
  std::size_t in_use_bytes = 0;  // held by live tensors (rounded up to their size class)
  std::size_t cached_bytes = 0;  // freed by tensors, kept for reuse without cudaMalloc
  std::int64_t device_allocations =
      0;                        // cudaMalloc calls so far: flat once a training loop is warm
  std::int64_t cache_hits = 0;  // allocations served from the cache
};

// All zero in a build without CUDA; an Error for a device this process cannot use.
CudaMemoryStats cuda_memory_stats(int device);

// cudaFree of every cached block of every device; live tensors are untouched. Also done once,
// automatically, when cudaMalloc runs out of memory, before the allocation is retried.
void cuda_empty_cache();

}  // namespace ddp::kernels
