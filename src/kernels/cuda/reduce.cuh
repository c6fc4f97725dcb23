// Sums of many terms on a CUDA device, handed to a device function or brought back to the host as
// one value. The order of the
// additions is fixed for a given n (a fixed grid, then one block over its partial sums), so a
// result repeats bit for bit from run to run and from rank to rank.
#pragma once

#include <cstring>
#include <vector>

#include "launch.cuh"

namespace ddp::kernels::cuda {

constexpr int kReduceThreads = 256;
constexpr std::int64_t kReduceBlocks = 1024;

// The sum of one value per thread of the block, as a tree in shared memory; T is a trivial type
// with operator+ (double, or a struct of doubles).
template <typename T>
__device__ T block_sum(T value) {
  __shared__ T lanes[kReduceThreads];
  lanes[threadIdx.x] = value;
  __syncthreads();
  for (int half = kReduceThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      lanes[threadIdx.x] = lanes[threadIdx.x] + lanes[threadIdx.x + half];
    }
    __syncthreads();
  }
  return lanes[0];
}

template <typename T, typename F>
__global__ void partial_sums_kernel(std::int64_t n, F term, T* partials) {
  T total{};
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    total = total + term(i);
  }
  const T block = block_sum(total);
  if (threadIdx.x == 0) partials[blockIdx.x] = block;
}

template <typename T, typename Finish>
__global__ void final_sum_kernel(const T* partials, int count, Finish finish) {
  T total{};
  for (int i = static_cast<int>(threadIdx.x); i < count; i += kReduceThreads) {
    total = total + partials[i];
  }
  const T block = block_sum(total);
  if (threadIdx.x == 0) finish(block);
}

// finish(the sum over i in [0, n) of term(i)), both __device__ lambdas, on device's stream; the
// host does not wait. finish runs once, on one thread (it adds the sum to step totals, say).
template <typename T, typename F, typename Finish>
void reduce_on_device(const Device& device, std::int64_t n, F term, Finish finish) {
  static_assert(sizeof(T) % sizeof(double) == 0, "reduce_sum adds doubles or structs of them");
  const auto blocks = static_cast<int>(std::max<std::int64_t>(
      1, std::min(kReduceBlocks, (n + kReduceThreads - 1) / kReduceThreads)));
  constexpr std::int64_t kWords = sizeof(T) / sizeof(double);
  // Freed at once: the allocator hands it out again only to work later on the same stream.
  Tensor scratch = Tensor::empty({blocks * kWords}, DType::float64, device);
  T* partials = static_cast<T*>(scratch.data_ptr());
  DeviceGuard guard(device.index);
  cudaStream_t s = stream(device.index);
  partial_sums_kernel<<<blocks, kReduceThreads, 0, s>>>(n, term, partials);
  DDP_CUDA_CHECK(cudaGetLastError());
  final_sum_kernel<<<1, kReduceThreads, 0, s>>>(partials, blocks, finish);
  DDP_CUDA_CHECK(cudaGetLastError());
}

// The sum over i in [0, n) of term(i) (a __device__ lambda), computed on device's stream; waits
// for it, as a value the host reads must.
template <typename T, typename F>
T reduce_sum(const Device& device, std::int64_t n, F term) {
  if (n == 0) return T{};
  constexpr std::int64_t kWords = sizeof(T) / sizeof(double);
  Tensor result = Tensor::empty({kWords}, DType::float64, device);
  T* out = static_cast<T*>(result.data_ptr());
  reduce_on_device<T>(device, n, term, [=] __device__(T total) { *out = total; });
  // The copy back runs after the kernels on the same stream and returns once it has landed.
  const std::vector<double> words = result.to_vector<double>();
  T result_value;
  std::memcpy(&result_value, words.data(), sizeof(T));
  return result_value;
}

}  // namespace ddp::kernels::cuda
