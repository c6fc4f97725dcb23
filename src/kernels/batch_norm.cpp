#include "ddp/kernels/batch_norm.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "channel_layout.hpp"
#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "lane_sums.hpp"

namespace ddp::kernels {
namespace {

using detail::ChannelLayout;
using detail::check_per_channel;

// Calls run(c, begin) for each sample's block of channel c: inner consecutive elements at begin.
template <typename Run>
void for_each_channel_run(const ChannelLayout& layout, Run run) {
  for (std::int64_t n = 0; n < layout.batch; ++n) {
    for (std::int64_t c = 0; c < layout.channels; ++c)
      run(c, (n * layout.channels + c) * layout.inner);
  }
}

// Calls element(c, i) for every element i of x, c its channel: along the spatial run, or for
// [N, C] input (inner 1) along the channels of a row, so that the loop vectorises either way.
template <typename Element>
void for_each_element(const ChannelLayout& layout, Element element) {
  if (layout.inner == 1) {
    for (std::int64_t n = 0; n < layout.batch; ++n) {
      const std::int64_t row = n * layout.channels;
      for (std::int64_t c = 0; c < layout.channels; ++c) element(c, row + c);
    }
    return;
  }
  for_each_channel_run(layout, [&](std::int64_t c, std::int64_t begin) {
    for (std::int64_t i = begin; i < begin + layout.inner; ++i) element(c, i);
  });
}

// first[c] += sum of term(i)[0], second[c] += sum of term(i)[1] over the elements i of channel c.
// [N, C] input (inner 1) adds row by row, a loop along contiguous channels that vectorises.
template <typename Term>
void add_channel_sums(const ChannelLayout& layout, Term term, double* first, double* second) {
  if (layout.inner == 1) {
    for (std::int64_t n = 0; n < layout.batch; ++n) {
      for (std::int64_t c = 0; c < layout.channels; ++c) {
        const std::array<double, 2> terms = term(c, n * layout.channels + c);
        first[c] += terms[0];
        second[c] += terms[1];
      }
    }
    return;
  }
  for_each_channel_run(layout, [&](std::int64_t c, std::int64_t begin) {
    const std::array<double, 2> sums =
        detail::lane_sums<2>(layout.inner, [&](std::int64_t i) { return term(c, begin + i); });
    first[c] += sums[0];
    second[c] += sums[1];
  });
}

void check_moments(const Tensor& moments, std::int64_t channels, const char* op) {
  check_per_channel(moments, 2, channels, DType::float32, "moments", op);
}

void check_same_layout(const Tensor& a, const Tensor& b, const char* op) {
  DDP_CHECK(a.shape() == b.shape(), op << ": tensors of shapes " << ddp::to_string(a.shape())
                                       << " and " << ddp::to_string(b.shape())
                                       << " differ; x, dy, y and dx share one shape");
}

// The checks of the kernels that read x and dy with the batch's moments; x's layout.
ChannelLayout check_backward(const Tensor& x, const Tensor& dy, const Tensor& moments,
                             const char* op) {
  const ChannelLayout layout = detail::channel_layout(x, op);
  check_same_layout(x, dy, op);
  check_moments(moments, layout.channels, op);
  return layout;
}

}  // namespace

void batch_norm_statistics(const Tensor& x, Tensor& stats) {
  const char* op = "batch_norm_statistics";
  const ChannelLayout layout = detail::channel_layout(x, op);
  check_per_channel(stats, 3, layout.channels, DType::float64, "stats", op);
  if (stats.device().is_cuda()) return cuda::batch_norm_statistics(layout, x, stats);
  const float* in = detail::cpu_floats(x, op);
  double* sums = detail::data_on<double>(stats, Device::cpu(), op);
  const std::int64_t channels = layout.channels;
  std::fill(sums, sums + 2 * channels, 0.0);
  std::fill(sums + 2 * channels, sums + 3 * channels,
            static_cast<double>(layout.batch * layout.inner));
  add_channel_sums(
      layout,
      [in](std::int64_t, std::int64_t i) {
        const double v = in[i];
        return std::array<double, 2>{v, v * v};
      },
      sums, sums + channels);
}

void batch_norm_moments(const Tensor& stats, double eps, Tensor& moments) {
  const char* op = "batch_norm_moments";
  const std::int64_t channels = moments.numel() / 2;
  check_per_channel(stats, 3, channels, DType::float64, "stats", op);
  check_moments(moments, channels, op);
  if (moments.device().is_cuda()) return cuda::batch_norm_moments(stats, eps, moments);
  const double* sums = detail::data_on<double>(stats, Device::cpu(), op);
  float* out = detail::cpu_floats(moments, op);
  for (std::int64_t c = 0; c < channels; ++c) {
    const double count = sums[2 * channels + c];
    const double mean = sums[c] / count;
    const double var = std::max(0.0, sums[channels + c] / count - mean * mean);
    out[c] = static_cast<float>(mean);
    out[channels + c] = static_cast<float>(1.0 / std::sqrt(var + eps));
  }
}

void batch_norm_running_moments(const Tensor& running_mean, const Tensor& running_var, double eps,
                                Tensor& moments) {
  const char* op = "batch_norm_running_moments";
  const std::int64_t channels = running_mean.numel();
  check_per_channel(running_var, 1, channels, DType::float32, "running_var", op);
  check_moments(moments, channels, op);
  if (moments.device().is_cuda()) {
    return cuda::batch_norm_running_moments(running_mean, running_var, eps, moments);
  }
  const float* mean = detail::cpu_floats(running_mean, op);
  const float* var = detail::cpu_floats(running_var, op);
  float* out = detail::cpu_floats(moments, op);
  for (std::int64_t c = 0; c < channels; ++c) {
    out[c] = mean[c];
    out[channels + c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + eps));
  }
}

void batch_norm_update_running(const Tensor& stats, double momentum, Tensor& running_mean,
                               Tensor& running_var, Tensor& num_batches_tracked) {
  const char* op = "batch_norm_update_running";
  const std::int64_t channels = running_mean.numel();
  check_per_channel(stats, 3, channels, DType::float64, "stats", op);
  check_per_channel(running_var, 1, channels, DType::float32, "running_var", op);
  check_per_channel(num_batches_tracked, 1, 1, DType::int64, "num_batches_tracked", op);
  if (running_mean.device().is_cuda()) {
    return cuda::batch_norm_update_running(stats, momentum, running_mean, running_var,
                                           num_batches_tracked);
  }
  const double* sums = detail::data_on<double>(stats, Device::cpu(), op);
  float* mean = detail::cpu_floats(running_mean, op);
  float* var = detail::cpu_floats(running_var, op);
  for (std::int64_t c = 0; c < channels; ++c) {
    const double count = sums[2 * channels + c];
    if (count == 0) continue;
    const double batch_mean = sums[c] / count;
    const double biased = std::max(0.0, sums[channels + c] / count - batch_mean * batch_mean);
    const double unbiased = biased * count / (count - 1);
    mean[c] = static_cast<float>((1 - momentum) * mean[c] + momentum * batch_mean);
    var[c] = static_cast<float>((1 - momentum) * var[c] + momentum * unbiased);
  }
  *detail::data_on<std::int64_t>(num_batches_tracked, Device::cpu(), op) += 1;
}

void batch_norm_forward(const Tensor& x, const Tensor& moments, const Tensor& weight,
                        const Tensor& bias, Tensor& y) {
  const char* op = "batch_norm_forward";
  const ChannelLayout layout = detail::channel_layout(x, op);
  check_same_layout(x, y, op);
  check_moments(moments, layout.channels, op);
  check_per_channel(weight, 1, layout.channels, DType::float32, "weight", op);
  check_per_channel(bias, 1, layout.channels, DType::float32, "bias", op);
  if (y.device().is_cuda()) return cuda::batch_norm_forward(layout, x, moments, weight, bias, y);
  const float* in = detail::cpu_floats(x, op);
  const float* mean = detail::cpu_floats(moments, op);
  const float* invstd = mean + layout.channels;
  const float* w = detail::cpu_floats(weight, op);
  const float* b = detail::cpu_floats(bias, op);
  float* out = detail::cpu_floats(y, op);
  for_each_element(layout, [&](std::int64_t c, std::int64_t i) {
    out[i] = (in[i] - mean[c]) * (w[c] * invstd[c]) + b[c];
  });
}

void batch_norm_backward_sums(const Tensor& x, const Tensor& dy, const Tensor& moments,
                              Tensor& grad_sums) {
  const char* op = "batch_norm_backward_sums";
  const ChannelLayout layout = check_backward(x, dy, moments, op);
  check_per_channel(grad_sums, 2, layout.channels, DType::float64, "grad_sums", op);
  if (grad_sums.device().is_cuda()) {
    return cuda::batch_norm_backward_sums(layout, x, dy, moments, grad_sums);
  }
  const float* in = detail::cpu_floats(x, op);
  const float* grad = detail::cpu_floats(dy, op);
  const float* mean = detail::cpu_floats(moments, op);
  const float* invstd = mean + layout.channels;
  double* sums = detail::data_on<double>(grad_sums, Device::cpu(), op);
  double* sum_dy = sums;
  double* sum_dy_xhat = sums + layout.channels;
  std::fill(sums, sums + 2 * layout.channels, 0.0);
  // Sums dy * (x - mean) first and scales by invstd once per channel.
  add_channel_sums(
      layout,
      [&](std::int64_t c, std::int64_t i) {
        const double g = grad[i];
        return std::array<double, 2>{g, g * (static_cast<double>(in[i]) - mean[c])};
      },
      sum_dy, sum_dy_xhat);
  for (std::int64_t c = 0; c < layout.channels; ++c) sum_dy_xhat[c] *= invstd[c];
}

void batch_norm_parameter_grads(const Tensor& grad_sums, Tensor& grad_weight,
                                bool accumulate_weight, Tensor& grad_bias, bool accumulate_bias) {
  const char* op = "batch_norm_parameter_grads";
  const std::int64_t channels = grad_weight.numel();
  check_per_channel(grad_sums, 2, channels, DType::float64, "grad_sums", op);
  check_per_channel(grad_bias, 1, channels, DType::float32, "grad_bias", op);
  if (grad_weight.device().is_cuda()) {
    return cuda::batch_norm_parameter_grads(grad_sums, grad_weight, accumulate_weight, grad_bias,
                                            accumulate_bias);
  }
  const double* sums = detail::data_on<double>(grad_sums, Device::cpu(), op);
  float* gw = detail::cpu_floats(grad_weight, op);
  float* gb = detail::cpu_floats(grad_bias, op);
  for (std::int64_t c = 0; c < channels; ++c) {
    gb[c] = (accumulate_bias ? gb[c] : 0.0f) + static_cast<float>(sums[c]);
    gw[c] = (accumulate_weight ? gw[c] : 0.0f) + static_cast<float>(sums[channels + c]);
  }
}

void batch_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& moments,
                               const Tensor& weight, const Tensor& grad_sums, double count,
                               Tensor& dx) {
  const char* op = "batch_norm_backward_input";
  const ChannelLayout layout = check_backward(x, dy, moments, op);
  check_same_layout(x, dx, op);
  check_per_channel(weight, 1, layout.channels, DType::float32, "weight", op);
  check_per_channel(grad_sums, 2, layout.channels, DType::float64, "grad_sums", op);
  DDP_CHECK(count > 0, op << ": the statistics need a positive count, got " << count);
  if (dx.device().is_cuda()) {
    return cuda::batch_norm_backward_input(layout, x, dy, moments, weight, grad_sums, count, dx);
  }
  const float* in = detail::cpu_floats(x, op);
  const float* grad = detail::cpu_floats(dy, op);
  const float* mean = detail::cpu_floats(moments, op);
  const float* invstd = mean + layout.channels;
  const float* w = detail::cpu_floats(weight, op);
  const double* sums = detail::data_on<double>(grad_sums, Device::cpu(), op);
  float* out = detail::cpu_floats(dx, op);
  const double inverse_count = 1.0 / count;
  for_each_element(layout, [&](std::int64_t c, std::int64_t i) {
    const auto mean_dy = static_cast<float>(sums[c] * inverse_count);
    const auto mean_dy_xhat = static_cast<float>(sums[layout.channels + c] * inverse_count);
    const float xhat = (in[i] - mean[c]) * invstd[c];
    out[i] = w[c] * invstd[c] * (grad[i] - mean_dy - xhat * mean_dy_xhat);
  });
}

void batch_norm_backward_input_eval(const Tensor& dy, const Tensor& moments, const Tensor& weight,
                                    Tensor& dx) {
  const char* op = "batch_norm_backward_input_eval";
  const ChannelLayout layout = check_backward(dy, dx, moments, op);
  check_per_channel(weight, 1, layout.channels, DType::float32, "weight", op);
  if (dx.device().is_cuda()) {
    return cuda::batch_norm_backward_input_eval(layout, dy, moments, weight, dx);
  }
  const float* grad = detail::cpu_floats(dy, op);
  const float* invstd = detail::cpu_floats(moments, op) + layout.channels;
  const float* w = detail::cpu_floats(weight, op);
  float* out = detail::cpu_floats(dx, op);
  for_each_element(layout,
                   [&](std::int64_t c, std::int64_t i) { out[i] = grad[i] * (w[c] * invstd[c]); });
}

}  // namespace ddp::kernels
