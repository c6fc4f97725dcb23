#include "ddp/kernels/layer_norm.hpp"

#include <cmath>
#include <vector>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

// An Error unless x is [rows, dim], the per-column tensors are [dim] and the per-row ones match.
void check_shapes(const Tensor& x, const Tensor& other, const Tensor& stats, const Tensor& weight,
                  const char* op) {
  DDP_CHECK(x.ndim() == 2 && other.shape() == x.shape() && weight.ndim() == 1 &&
                weight.size(0) == x.size(1) && stats.ndim() == 2 && stats.size(0) == x.size(0) &&
                stats.size(1) == 2,
            op << " needs x [rows, dim], a second [rows, dim], stats [rows, 2] and [dim] "
               << "parameters, got x " << ddp::to_string(x.shape()) << ", "
               << ddp::to_string(other.shape()) << ", stats " << ddp::to_string(stats.shape())
               << ", weight " << ddp::to_string(weight.shape()));
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        Tensor& y, Tensor& stats) {
  check_shapes(x, y, stats, weight, "layer_norm_forward");
  DDP_CHECK(bias.shape() == weight.shape(),
            "layer_norm_forward: bias " << ddp::to_string(bias.shape()) << " differs from weight "
                                        << ddp::to_string(weight.shape()));
  detail::check_disjoint(x, y, "layer_norm_forward");
  if (y.device().is_cuda()) return cuda::layer_norm_forward(x, weight, bias, eps, y, stats);
  const float* in = detail::cpu_floats(x, "layer_norm_forward");
  const float* w = detail::cpu_floats(weight, "layer_norm_forward");
  const float* b = detail::cpu_floats(bias, "layer_norm_forward");
  float* out = detail::cpu_floats(y, "layer_norm_forward");
  float* moments = detail::cpu_floats(stats, "layer_norm_forward");
  const std::int64_t rows = x.size(0);
  const std::int64_t dim = x.size(1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = in + r * dim;
    // Two passes (mean, then squared deviations): no cancellation for rows far from 0.
    float sum = 0.0f;
    for (std::int64_t c = 0; c < dim; ++c) sum += row[c];
    const float mean = sum / static_cast<float>(dim);
    float squares = 0.0f;
    for (std::int64_t c = 0; c < dim; ++c) squares += (row[c] - mean) * (row[c] - mean);
    const float rstd =
        1.0f / std::sqrt(squares / static_cast<float>(dim) + static_cast<float>(eps));
    moments[2 * r] = mean;
    moments[2 * r + 1] = rstd;
    float* out_row = out + r * dim;
    for (std::int64_t c = 0; c < dim; ++c) out_row[c] = (row[c] - mean) * rstd * w[c] + b[c];
  }
}

void layer_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& stats,
                               const Tensor& weight, Tensor& dx) {
  check_shapes(x, dy, stats, weight, "layer_norm_backward_input");
  DDP_CHECK(dx.shape() == x.shape(), "layer_norm_backward_input: dx " << ddp::to_string(dx.shape())
                                                                      << " differs from x "
                                                                      << ddp::to_string(x.shape()));
  if (dx.device().is_cuda()) return cuda::layer_norm_backward_input(x, dy, stats, weight, dx);
  const float* in = detail::cpu_floats(x, "layer_norm_backward_input");
  const float* grad_out = detail::cpu_floats(dy, "layer_norm_backward_input");
  const float* moments = detail::cpu_floats(stats, "layer_norm_backward_input");
  const float* w = detail::cpu_floats(weight, "layer_norm_backward_input");
  float* grad_in = detail::cpu_floats(dx, "layer_norm_backward_input");
  const std::int64_t rows = x.size(0);
  const std::int64_t dim = x.size(1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = in + r * dim;
    const float* dy_row = grad_out + r * dim;
    const float mean = moments[2 * r];
    const float rstd = moments[2 * r + 1];
    float sum_g = 0.0f;
    float sum_g_xhat = 0.0f;
    for (std::int64_t c = 0; c < dim; ++c) {
      const float g = dy_row[c] * w[c];
      sum_g += g;
      sum_g_xhat += g * (row[c] - mean) * rstd;
    }
    const float mean_g = sum_g / static_cast<float>(dim);
    const float mean_g_xhat = sum_g_xhat / static_cast<float>(dim);
    float* dx_row = grad_in + r * dim;
    for (std::int64_t c = 0; c < dim; ++c) {
      const float xhat = (row[c] - mean) * rstd;
      dx_row[c] = rstd * (dy_row[c] * w[c] - mean_g - xhat * mean_g_xhat);
    }
  }
}

void layer_norm_parameter_grads(const Tensor& x, const Tensor& dy, const Tensor& stats,
                                Tensor& grad_weight, bool accumulate_weight, Tensor& grad_bias,
                                bool accumulate_bias) {
  check_shapes(x, dy, stats, grad_weight, "layer_norm_parameter_grads");
  DDP_CHECK(grad_bias.shape() == grad_weight.shape(), "layer_norm_parameter_grads: grad_bias "
                                                          << ddp::to_string(grad_bias.shape())
                                                          << " differs from grad_weight "
                                                          << ddp::to_string(grad_weight.shape()));
  if (grad_weight.device().is_cuda()) {
    return cuda::layer_norm_parameter_grads(x, dy, stats, grad_weight, accumulate_weight, grad_bias,
                                            accumulate_bias);
  }
  const float* in = detail::cpu_floats(x, "layer_norm_parameter_grads");
  const float* grad_out = detail::cpu_floats(dy, "layer_norm_parameter_grads");
  const float* moments = detail::cpu_floats(stats, "layer_norm_parameter_grads");
  float* gw = detail::cpu_floats(grad_weight, "layer_norm_parameter_grads");
  float* gb = detail::cpu_floats(grad_bias, "layer_norm_parameter_grads");
  const std::int64_t rows = x.size(0);
  const std::int64_t dim = x.size(1);
  // Row by row into column totals: reads x and dy in order, once.
  std::vector<float> weight_sums(static_cast<std::size_t>(dim), 0.0f);
  std::vector<float> bias_sums(static_cast<std::size_t>(dim), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = in + r * dim;
    const float* dy_row = grad_out + r * dim;
    const float mean = moments[2 * r];
    const float rstd = moments[2 * r + 1];
    for (std::int64_t c = 0; c < dim; ++c) {
      weight_sums[static_cast<std::size_t>(c)] += dy_row[c] * (row[c] - mean) * rstd;
      bias_sums[static_cast<std::size_t>(c)] += dy_row[c];
    }
  }
  for (std::int64_t c = 0; c < dim; ++c) {
    const auto i = static_cast<std::size_t>(c);
    gw[c] = (accumulate_weight ? gw[c] : 0.0f) + weight_sums[i];
    gb[c] = (accumulate_bias ? gb[c] : 0.0f) + bias_sums[i];
  }
}

}  // namespace ddp::kernels
