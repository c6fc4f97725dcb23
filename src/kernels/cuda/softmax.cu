// Row-wise softmax, log-softmax, attention's causal softmax and the softmax's backward on CUDA
// matrices: one warp per row, in the CPU kernels' order of operations per element (x - max -
// log(sum) for the log form).
#include <cmath>

#include "cuda_kernels.hpp"
#include "launch.cuh"
#include "warp.cuh"

namespace ddp::kernels::cuda {
namespace {

constexpr int kRowsPerBlock = kThreads / kWarp;

// Every lane of a warp works on the same row, so the shuffles see the whole warp; y may be x.
// kCausal: row r sees its first r % columns + 1 columns (rows of square score matrices), the rest
// of it is 0.
template <bool kLog, bool kCausal = false>
__global__ void softmax_kernel(const float* x, float* y, std::int64_t rows, std::int64_t columns) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kRowsPerBlock;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
       r < rows; r += warps) {
    const float* in = x + r * columns;
    float* out = y + r * columns;
    const std::int64_t seen = kCausal ? r % columns + 1 : columns;
    float max = -INFINITY;
    for (std::int64_t c = lane; c < seen; c += kWarp) max = in[c] > max ? in[c] : max;
    max = warp_max(max);
    float sum = 0.0f;
    for (std::int64_t c = lane; c < seen; c += kWarp) sum += expf(in[c] - max);
    sum = warp_sum(sum);
    if constexpr (kLog) {
      const float log_sum = logf(sum);
      for (std::int64_t c = lane; c < columns; c += kWarp) out[c] = in[c] - max - log_sum;
    } else {
      const float inverse = 1.0f / sum;
      for (std::int64_t c = lane; c < seen; c += kWarp) out[c] = expf(in[c] - max) * inverse;
      for (std::int64_t c = seen + lane; c < columns; c += kWarp) out[c] = 0.0f;
    }
  }
}

// dx = y * (dy - sum(dy * y)) per row; dx may be dy.
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx,
                                        std::int64_t rows, std::int64_t columns) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kRowsPerBlock;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
       r < rows; r += warps) {
    const float* p = y + r * columns;
    const float* g = dy + r * columns;
    float* out = dx + r * columns;
    float dot = 0.0f;
    for (std::int64_t c = lane; c < columns; c += kWarp) dot += p[c] * g[c];
    dot = warp_sum(dot);
    for (std::int64_t c = lane; c < columns; c += kWarp) out[c] = p[c] * (g[c] - dot);
  }
}

unsigned blocks_for_rows(std::int64_t rows) {
  return static_cast<unsigned>(std::min(kMaxBlocks, (rows + kRowsPerBlock - 1) / kRowsPerBlock));
}

// rows x columns of x into y (equal shapes, checked by the dispatch).
template <bool kLog, bool kCausal = false>
void launch_softmax(const Tensor& x, Tensor& y, std::int64_t rows, std::int64_t columns,
                    const char* op) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, op);
  float* out = detail::data_on<float>(y, device, op);
  if (rows == 0 || columns == 0) return;
  DeviceGuard guard(device.index);
  softmax_kernel<kLog, kCausal>
      <<<blocks_for_rows(rows), kThreads, 0, stream(device.index)>>>(in, out, rows, columns);
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void softmax_rows(const Tensor& x, Tensor& y) {
  launch_softmax<false>(x, y, y.size(0), y.size(1), "softmax_rows");
}

void log_softmax_rows(const Tensor& x, Tensor& y) {
  launch_softmax<true>(x, y, y.size(0), y.size(1), "log_softmax_rows");
}

void causal_softmax(const Tensor& x, Tensor& y) {
  launch_softmax<false, true>(x, y, y.size(0) * y.size(1), y.size(2), "causal_softmax");
}

void softmax_backward_rows(const Tensor& y, const Tensor& dy, Tensor& dx) {
  const Device device = dx.device();
  const float* p = detail::data_on<float>(y, device, "softmax_backward_rows");
  const float* g = detail::data_on<float>(dy, device, "softmax_backward_rows");
  float* out = detail::data_on<float>(dx, device, "softmax_backward_rows");
  const std::int64_t rows = dx.size(0);
  if (rows == 0 || dx.size(1) == 0) return;
  DeviceGuard guard(device.index);
  softmax_backward_kernel<<<blocks_for_rows(rows), kThreads, 0, stream(device.index)>>>(
      p, g, out, rows, dx.size(1));
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ddp::kernels::cuda
