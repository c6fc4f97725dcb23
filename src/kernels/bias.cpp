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

}  // namespace ddp::kernels
