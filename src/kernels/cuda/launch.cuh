// Launching the CUDA kernels (private to src/kernels/cuda, for .cu files): grid sizes, and one
// grid-stride loop that the elementwise kernels share, run on the device's stream.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../checks.hpp"
#include "cuda_check.hpp"

namespace ddp::kernels::cuda {

constexpr int kThreads = 256;
// A grid-stride loop over at most this many blocks: enough to fill a Hopper GPU several times over.
constexpr std::int64_t kMaxBlocks = 4096;

inline unsigned blocks_for(std::int64_t n) {
  return static_cast<unsigned>(
      std::max<std::int64_t>(1, std::min(kMaxBlocks, (n + kThreads - 1) / kThreads)));
}

template <typename F>
__global__ void for_each_index_kernel(std::int64_t n, F f) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    f(i);
  }
}

// Runs f(i) for every i in [0, n) on device's stream; f is a __device__ lambda taking pointers
// by value.
template <typename F>
void for_each_index(const Device& device, std::int64_t n, F f) {
  if (n == 0) return;
  DeviceGuard guard(device.index);
  for_each_index_kernel<<<blocks_for(n), kThreads, 0, stream(device.index)>>>(n, f);
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ddp::kernels::cuda
