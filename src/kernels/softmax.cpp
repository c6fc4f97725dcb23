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

void causal_softmax(const Tensor& x, Tensor& y) {
  DDP_CHECK(x.ndim() == 3 && x.size(1) == x.size(2) && y.shape() == x.shape(),
            "causal_softmax needs x [n, t, t] and y of the same shape, got "
                << ddp::to_string(x.shape()) << " and " << ddp::to_string(y.shape()));
  if (y.device().is_cuda()) return cuda::causal_softmax(x, y);
  const std::int64_t t = x.size(1);
  const Tensor x_rows = x.reshape({x.size(0) * t, t});
  Tensor y_rows = y.reshape({x.size(0) * t, t});
  std::int64_t row = 0;
  for_each_row(x_rows, y_rows, "causal_softmax", [&](const float* in, float* out, std::int64_t n) {
    const std::int64_t seen = row % n + 1;  // the query's own position and those before it
    ++row;
    const float max = row_max(in, seen);
    float sum = 0.0f;
    for (std::int64_t c = 0; c < seen; ++c) {
      out[c] = std::exp(in[c] - max);
      sum += out[c];
    }
    const float inverse = 1.0f / sum;
    for (std::int64_t c = 0; c < seen; ++c) out[c] *= inverse;
    for (std::int64_t c = seen; c < n; ++c) out[c] = 0.0f;
  });
}

void softmax_backward_rows(const Tensor& y, const Tensor& dy, Tensor& dx) {
  DDP_CHECK(y.ndim() == 2 && dy.shape() == y.shape() && dx.shape() == y.shape(),
            "softmax_backward_rows needs y, dy and dx of one shape [n, c], got "
                << ddp::to_string(y.shape()) << ", " << ddp::to_string(dy.shape()) << " and "
                << ddp::to_string(dx.shape()));
  if (dx.device().is_cuda()) return cuda::softmax_backward_rows(y, dy, dx);
  const float* probs = detail::cpu_floats(y, "softmax_backward_rows");
  const float* grad_out = detail::cpu_floats(dy, "softmax_backward_rows");
  float* grad_in = detail::cpu_floats(dx, "softmax_backward_rows");
  const std::int64_t rows = y.size(0);
  const std::int64_t columns = y.size(1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* p = probs + r * columns;
    const float* g = grad_out + r * columns;
    float* out = grad_in + r * columns;
    float dot = 0.0f;
    for (std::int64_t c = 0; c < columns; ++c) dot += p[c] * g[c];
    for (std::int64_t c = 0; c < columns; ++c) out[c] = p[c] * (g[c] - dot);
  }
}

}  // namespace ddp::kernels
