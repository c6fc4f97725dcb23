// Row-wise softmax and log-softmax of CUDA matrices: one warp per row, in the CPU kernels' order
// of operations per element (x - max - log(sum) for the log form).
#include <cmath>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;

__device__ float warp_max(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = other > value ? other : value;
  }
  return value;
}

__device__ float warp_sum(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

// Every lane of a warp works on the same row, so the shuffles see the whole warp; y may be x.
template <bool kLog>
__global__ void softmax_kernel(const float* x, float* y, std::int64_t rows, std::int64_t columns) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kRowsPerBlock;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
       r < rows; r += warps) {
    const float* in = x + r * columns;
    float* out = y + r * columns;
    float max = -INFINITY;
    for (std::int64_t c = lane; c < columns; c += kWarp) max = in[c] > max ? in[c] : max;
    max = warp_max(max);
    float sum = 0.0f;
    for (std::int64_t c = lane; c < columns; c += kWarp) sum += expf(in[c] - max);
    sum = warp_sum(sum);
    if constexpr (kLog) {
      const float log_sum = logf(sum);
      for (std::int64_t c = lane; c < columns; c += kWarp) out[c] = in[c] - max - log_sum;
    } else {
      const float inverse = 1.0f / sum;
      for (std::int64_t c = lane; c < columns; c += kWarp) out[c] = expf(in[c] - max) * inverse;
    }
  }
}

template <bool kLog>
void launch_softmax(const Tensor& x, Tensor& y, const char* op) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, op);
  float* out = detail::data_on<float>(y, device, op);
  const std::int64_t rows = y.size(0);
  if (rows == 0) return;
  const auto blocks =
      static_cast<unsigned>(std::min(kMaxBlocks, (rows + kRowsPerBlock - 1) / kRowsPerBlock));
  DeviceGuard guard(device.index);
  softmax_kernel<kLog><<<blocks, kThreads, 0, stream(device.index)>>>(in, out, rows, y.size(1));
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void softmax_rows(const Tensor& x, Tensor& y) {
  launch_softmax<false>(x, y, "softmax_rows");
}

void log_softmax_rows(const Tensor& x, Tensor& y) {
  launch_softmax<true>(x, y, "log_softmax_rows");
}

}  // namespace ddp::kernels::cuda
