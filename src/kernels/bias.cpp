#include "ddp/kernels/bias.hpp"

#include <algorithm>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

std::int64_t check_matrix(const Tensor& matrix, const Tensor& vector, const char* op) {
  DDP_CHECK(matrix.ndim() == 2 && vector.ndim() == 1 && matrix.size(1) == vector.size(0),
            op << ": matrix " << ddp::to_string(matrix.shape()) << " and vector "
               << ddp::to_string(vector.shape())
               << " do not match; the vector needs the column count");
  return matrix.size(0);
}

// The batch of maps [batch, channels, positions] against the per-channel vector.
void check_maps(const Tensor& maps, const Tensor& vector, const char* op) {
  DDP_CHECK(maps.ndim() == 3 && vector.ndim() == 1 && maps.size(1) == vector.size(0),
            op << ": maps " << ddp::to_string(maps.shape()) << " and vector "
               << ddp::to_string(vector.shape())
               << " do not match; give maps as [batch, channels, positions] and one value per "
                  "channel");
}

// The sum of n floats in 16 independent lanes: the compiler vectorises it without reordering a
// single chain, and the result does not depend on the machine.
float sum_floats(const float* values, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
  float lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] += values[i + l];
  }
  for (; i < n; ++i) lanes[i % kLanes] += values[i];
  float total = 0.0f;
  for (float lane : lanes) total += lane;
  return total;
}

}  // namespace

void broadcast_rows(const Tensor& bias, Tensor& y) {
  const std::int64_t rows = check_matrix(y, bias, "broadcast_rows");
  if (y.device().is_cuda()) return cuda::broadcast_rows(bias, y);
  const std::int64_t features = bias.numel();
  const float* b = detail::cpu_floats(bias, "broadcast_rows");
  float* out = detail::cpu_floats(y, "broadcast_rows");
  for (std::int64_t r = 0; r < rows; ++r) std::copy(b, b + features, out + r * features);
}

void sum_rows(const Tensor& dy, Tensor& grad_bias, bool accumulate) {
  const std::int64_t rows = check_matrix(dy, grad_bias, "sum_rows");
  if (grad_bias.device().is_cuda()) return cuda::sum_rows(dy, grad_bias, accumulate);
  const std::int64_t features = grad_bias.numel();
  const float* in = detail::cpu_floats(dy, "sum_rows");
  float* out = detail::cpu_floats(grad_bias, "sum_rows");
  if (!accumulate) std::fill(out, out + features, 0.0f);
  // Row by row, so the inner loop runs along contiguous memory and vectorises.
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = in + r * features;
    for (std::int64_t f = 0; f < features; ++f) out[f] += row[f];
  }
}

void broadcast_channels(const Tensor& bias, Tensor& y) {
  check_maps(y, bias, "broadcast_channels");
  if (y.device().is_cuda()) return cuda::broadcast_channels(bias, y);
  const std::int64_t batch = y.size(0);
  const std::int64_t channels = y.size(1);
  const std::int64_t positions = y.size(2);
  const float* b = detail::cpu_floats(bias, "broadcast_channels");
  float* out = detail::cpu_floats(y, "broadcast_channels");
  for (std::int64_t map = 0; map < batch * channels; ++map) {
    std::fill(out + map * positions, out + (map + 1) * positions, b[map % channels]);
  }
}

void sum_channels(const Tensor& dy, Tensor& grad_bias, bool accumulate) {
  check_maps(dy, grad_bias, "sum_channels");
  if (grad_bias.device().is_cuda()) return cuda::sum_channels(dy, grad_bias, accumulate);
  const std::int64_t batch = dy.size(0);
  const std::int64_t channels = dy.size(1);
  const std::int64_t positions = dy.size(2);
  const float* in = detail::cpu_floats(dy, "sum_channels");
  float* out = detail::cpu_floats(grad_bias, "sum_channels");
  if (!accumulate) std::fill(out, out + channels, 0.0f);
  for (std::int64_t map = 0; map < batch * channels; ++map) {
    out[map % channels] += sum_floats(in + map * positions, positions);
  }
}

}  // namespace ddp::kernels
