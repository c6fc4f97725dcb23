#include "ddp/kernels/softmax.hpp"

#include <cmath>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

void check_rows(const Tensor& x, const Tensor& y, const char* op) {
  DDP_CHECK(x.ndim() == 2 && y.shape() == x.shape(),
            op << " needs x [n, c] and y of the same shape, got " << ddp::to_string(x.shape())
               << " and " << ddp::to_string(y.shape()));
}

// Runs row_op(in_row, out_row, columns) on every row of host matrices.
template <typename RowOp>
void for_each_row(const Tensor& x, Tensor& y, const char* op, RowOp row_op) {
  const std::int64_t rows = x.size(0);
  const std::int64_t columns = x.size(1);
  const float* in = detail::cpu_floats(x, op);
  float* out = detail::cpu_floats(y, op);
  for (std::int64_t r = 0; r < rows; ++r) row_op(in + r * columns, out + r * columns, columns);
}

float row_max(const float* x, std::int64_t n) {
  float max = x[0];
  for (std::int64_t c = 1; c < n; ++c) max = x[c] > max ? x[c] : max;
  return max;
}

}  // namespace

void softmax_rows(const Tensor& x, Tensor& y) {
  check_rows(x, y, "softmax_rows");
  if (y.device().is_cuda()) return cuda::softmax_rows(x, y);
  for_each_row(x, y, "softmax_rows", [](const float* in, float* out, std::int64_t n) {
    if (n == 0) return;
    const float max = row_max(in, n);
    float sum = 0.0f;
    for (std::int64_t c = 0; c < n; ++c) {
      out[c] = std::exp(in[c] - max);
      sum += out[c];
    }
    const float inverse = 1.0f / sum;
    for (std::int64_t c = 0; c < n; ++c) out[c] *= inverse;
  });
}

void log_softmax_rows(const Tensor& x, Tensor& y) {
  check_rows(x, y, "log_softmax_rows");
  if (y.device().is_cuda()) return cuda::log_softmax_rows(x, y);
  for_each_row(x, y, "log_softmax_rows", [](const float* in, float* out, std::int64_t n) {
    if (n == 0) return;
    const float max = row_max(in, n);
    float sum = 0.0f;
    for (std::int64_t c = 0; c < n; ++c) sum += std::exp(in[c] - max);
    const float log_sum = std::log(sum);
    for (std::int64_t c = 0; c < n; ++c) out[c] = in[c] - max - log_sum;
  });
}

}  // namespace ddp::kernels
