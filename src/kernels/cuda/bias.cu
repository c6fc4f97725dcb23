// A bias broadcast over the rows of a CUDA matrix or the channels of CUDA feature maps, and its
// gradient (the column sums, or the sums per channel).
#include "cuda_kernels.hpp"
#include "launch.cuh"
#include "reduce.cuh"

namespace ddp::kernels::cuda {
namespace {

// sum_rows: a block covers kColumns columns with kRowLanes threads each; a thread adds every
// kRowLanes-th row of its column, then its column's lanes are added in a fixed order.
constexpr int kColumns = 32;
constexpr int kRowLanes = 8;

__global__ void sum_rows_kernel(const float* dy, float* grad, std::int64_t rows,
                                std::int64_t features, bool accumulate) {
  __shared__ float lanes[kRowLanes][kColumns + 1];  // +1: no bank conflicts reading a column
  const std::int64_t column = static_cast<std::int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  float total = 0.0f;
  if (column < features) {
    for (std::int64_t r = threadIdx.y; r < rows; r += kRowLanes) total += dy[r * features + column];
  }
  lanes[threadIdx.y][threadIdx.x] = total;
  __syncthreads();
  if (threadIdx.y != 0 || column >= features) return;
  float column_total = accumulate ? grad[column] : 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) column_total += lanes[lane][threadIdx.x];
  grad[column] = column_total;
}

// sum_channels: one block per channel, each thread adds a strided share of the channel's elements
// over every map, then the block adds its threads' sums as a tree, in a fixed order.
__global__ void sum_channels_kernel(const float* dy, float* grad, std::int64_t batch,
                                    std::int64_t channels, std::int64_t positions,
                                    bool accumulate) {
  const std::int64_t channel = blockIdx.x;
  float total = 0.0f;
  for (std::int64_t e = threadIdx.x; e < batch * positions; e += kReduceThreads) {
    const std::int64_t b = e / positions;
    total += dy[(b * channels + channel) * positions + e % positions];
  }
  const float channel_total = block_sum(total);
  if (threadIdx.x == 0) grad[channel] = (accumulate ? grad[channel] : 0.0f) + channel_total;
}

}  // namespace

void broadcast_rows(const Tensor& bias, Tensor& y) {
  const Device device = y.device();
  const float* b = detail::data_on<float>(bias, device, "broadcast_rows");
  float* out = detail::data_on<float>(y, device, "broadcast_rows");
  const std::int64_t features = bias.numel();
  for_each_index(device, y.numel(), [=] __device__(std::int64_t i) { out[i] = b[i % features]; });
}

void sum_rows(const Tensor& dy, Tensor& grad_bias, bool accumulate) {
  const Device device = grad_bias.device();
  const float* in = detail::data_on<float>(dy, device, "sum_rows");
  float* out = detail::data_on<float>(grad_bias, device, "sum_rows");
  const std::int64_t features = grad_bias.numel();
  if (features == 0) return;
  const auto blocks = static_cast<unsigned>((features + kColumns - 1) / kColumns);
  DeviceGuard guard(device.index);
  sum_rows_kernel<<<blocks, dim3(kColumns, kRowLanes), 0, stream(device.index)>>>(
      in, out, dy.size(0), features, accumulate);
  DDP_CUDA_CHECK(cudaGetLastError());
}

void broadcast_channels(const Tensor& bias, Tensor& y) {
  const Device device = y.device();
  const float* b = detail::data_on<float>(bias, device, "broadcast_channels");
  float* out = detail::data_on<float>(y, device, "broadcast_channels");
  const std::int64_t channels = y.size(1);
  const std::int64_t positions = y.size(2);
  for_each_index(device, y.numel(),
                 [=] __device__(std::int64_t i) { out[i] = b[(i / positions) % channels]; });
}

void sum_channels(const Tensor& dy, Tensor& grad_bias, bool accumulate) {
  const Device device = grad_bias.device();
  const float* in = detail::data_on<float>(dy, device, "sum_channels");
  float* out = detail::data_on<float>(grad_bias, device, "sum_channels");
  const std::int64_t channels = dy.size(1);
  if (channels == 0) return;
  DeviceGuard guard(device.index);
  sum_channels_kernel<<<static_cast<unsigned>(channels), kReduceThreads, 0, stream(device.index)>>>(
      in, out, dy.size(0), channels, dy.size(2), accumulate);
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ddp::kernels::cuda
