// Layer normalisation on CUDA tensors: one warp per row for the forward and the input's gradient
// (two passes over the row, as the CPU); for the parameters' gradients a block per 32 columns,
// whose rows of threads sum every kRowLanes'th row, then add their partial sums in a fixed order
// (deterministic, no atomics).
#include <cmath>

#include "cuda_kernels.hpp"
#include "launch.cuh"
#include "warp.cuh"

namespace ddp::kernels::cuda {
namespace {

constexpr int kRowsPerBlock = kThreads / kWarp;

unsigned blocks_for_rows(std::int64_t rows) {
  return static_cast<unsigned>(std::min(kMaxBlocks, (rows + kRowsPerBlock - 1) / kRowsPerBlock));
}

__global__ void forward_kernel(const float* x, const float* weight, const float* bias, float eps,
                               float* y, float* stats, std::int64_t rows, std::int64_t dim) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kRowsPerBlock;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
       r < rows; r += warps) {
    const float* row = x + r * dim;
    float sum = 0.0f;
    for (std::int64_t c = lane; c < dim; c += kWarp) sum += row[c];
    const float mean = warp_sum(sum) / static_cast<float>(dim);
    float squares = 0.0f;
    for (std::int64_t c = lane; c < dim; c += kWarp) squares += (row[c] - mean) * (row[c] - mean);
    const float rstd = rsqrtf(warp_sum(squares) / static_cast<float>(dim) + eps);
    if (lane == 0) {
      stats[2 * r] = mean;
      stats[2 * r + 1] = rstd;
    }
    float* out = y + r * dim;
    for (std::int64_t c = lane; c < dim; c += kWarp) {
      out[c] = (row[c] - mean) * rstd * weight[c] + bias[c];
    }
  }
}

__global__ void backward_input_kernel(const float* x, const float* dy, const float* stats,
                                      const float* weight, float* dx, std::int64_t rows,
                                      std::int64_t dim) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kRowsPerBlock;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
       r < rows; r += warps) {
    const float* row = x + r * dim;
    const float* dy_row = dy + r * dim;
    const float mean = stats[2 * r];
    const float rstd = stats[2 * r + 1];
    float sum_g = 0.0f;
    float sum_g_xhat = 0.0f;
    for (std::int64_t c = lane; c < dim; c += kWarp) {
      const float g = dy_row[c] * weight[c];
      sum_g += g;
      sum_g_xhat += g * (row[c] - mean) * rstd;
    }
    const float mean_g = warp_sum(sum_g) / static_cast<float>(dim);
    const float mean_g_xhat = warp_sum(sum_g_xhat) / static_cast<float>(dim);
    float* out = dx + r * dim;
    for (std::int64_t c = lane; c < dim; c += kWarp) {
      const float xhat = (row[c] - mean) * rstd;
      out[c] = rstd * (dy_row[c] * weight[c] - mean_g - xhat * mean_g_xhat);
    }
  }
}

constexpr int kRowLanes = 16;

__global__ void parameter_grads_kernel(const float* x, const float* dy, const float* stats,
                                       float* grad_weight, bool accumulate_weight, float* grad_bias,
                                       bool accumulate_bias, std::int64_t rows, std::int64_t dim) {
  __shared__ float weight_part[kRowLanes][kWarp + 1];
  __shared__ float bias_part[kRowLanes][kWarp + 1];
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * kWarp + threadIdx.x;
  float weight_sum = 0.0f;
  float bias_sum = 0.0f;
  if (c < dim) {
    for (std::int64_t r = threadIdx.y; r < rows; r += kRowLanes) {
      const float g = dy[r * dim + c];
      weight_sum += g * (x[r * dim + c] - stats[2 * r]) * stats[2 * r + 1];
      bias_sum += g;
    }
  }
  weight_part[threadIdx.y][threadIdx.x] = weight_sum;
  bias_part[threadIdx.y][threadIdx.x] = bias_sum;
  __syncthreads();
  if (threadIdx.y != 0 || c >= dim) return;
  for (int lane = 1; lane < kRowLanes; ++lane) {
    weight_sum += weight_part[lane][threadIdx.x];
    bias_sum += bias_part[lane][threadIdx.x];
  }
  grad_weight[c] = (accumulate_weight ? grad_weight[c] : 0.0f) + weight_sum;
  grad_bias[c] = (accumulate_bias ? grad_bias[c] : 0.0f) + bias_sum;
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        Tensor& y, Tensor& stats) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, "layer_norm_forward");
  const float* w = detail::data_on<float>(weight, device, "layer_norm_forward");
  const float* b = detail::data_on<float>(bias, device, "layer_norm_forward");
  float* out = detail::data_on<float>(y, device, "layer_norm_forward");
  float* moments = detail::data_on<float>(stats, device, "layer_norm_forward");
  const std::int64_t rows = x.size(0);
  if (rows == 0) return;
  DeviceGuard guard(device.index);
  forward_kernel<<<blocks_for_rows(rows), kThreads, 0, stream(device.index)>>>(
      in, w, b, static_cast<float>(eps), out, moments, rows, x.size(1));
  DDP_CUDA_CHECK(cudaGetLastError());
}

void layer_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& stats,
                               const Tensor& weight, Tensor& dx) {
  const Device device = dx.device();
  const float* in = detail::data_on<float>(x, device, "layer_norm_backward_input");
  const float* grad_out = detail::data_on<float>(dy, device, "layer_norm_backward_input");
  const float* moments = detail::data_on<float>(stats, device, "layer_norm_backward_input");
  const float* w = detail::data_on<float>(weight, device, "layer_norm_backward_input");
  float* grad_in = detail::data_on<float>(dx, device, "layer_norm_backward_input");
  const std::int64_t rows = x.size(0);
  if (rows == 0) return;
  DeviceGuard guard(device.index);
  backward_input_kernel<<<blocks_for_rows(rows), kThreads, 0, stream(device.index)>>>(
      in, grad_out, moments, w, grad_in, rows, x.size(1));
  DDP_CUDA_CHECK(cudaGetLastError());
}

void layer_norm_parameter_grads(const Tensor& x, const Tensor& dy, const Tensor& stats,
                                Tensor& grad_weight, bool accumulate_weight, Tensor& grad_bias,
                                bool accumulate_bias) {
  const Device device = grad_weight.device();
  const float* in = detail::data_on<float>(x, device, "layer_norm_parameter_grads");
  const float* grad_out = detail::data_on<float>(dy, device, "layer_norm_parameter_grads");
  const float* moments = detail::data_on<float>(stats, device, "layer_norm_parameter_grads");
  float* gw = detail::data_on<float>(grad_weight, device, "layer_norm_parameter_grads");
  float* gb = detail::data_on<float>(grad_bias, device, "layer_norm_parameter_grads");
  const std::int64_t rows = x.size(0);
  const std::int64_t dim = x.size(1);
  if (dim == 0) return;
  DeviceGuard guard(device.index);
  const auto blocks = static_cast<unsigned>((dim + kWarp - 1) / kWarp);
  parameter_grads_kernel<<<blocks, dim3(kWarp, kRowLanes), 0, stream(device.index)>>>(
      in, grad_out, moments, gw, accumulate_weight, gb, accumulate_bias, rows, dim);
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ddp::kernels::cuda
