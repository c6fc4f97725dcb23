// Batch normalisation's per-channel kernels on a CUDA device: one block per channel for the sums
// (in double, a fixed order: the same result every run), grid-stride loops for the rest.
#include "../channel_layout.hpp"
#include "cuda_kernels.hpp"
#include "launch.cuh"
#include "reduce.cuh"

namespace ddp::kernels::cuda {
namespace {

using detail::ChannelLayout;

struct DoublePair {
  double first;
  double second;
};

__device__ DoublePair operator+(DoublePair a, DoublePair b) {
  return {a.first + b.first, a.second + b.second};
}

// Block c sums term(c, i) over the elements i of channel c into first[c] and second[c].
template <typename Term>
__global__ void channel_sums_kernel(ChannelLayout layout, Term term, double* first,
                                    double* second) {
  const std::int64_t c = blockIdx.x;
  const std::int64_t per_channel = layout.batch * layout.inner;
  DoublePair total{0.0, 0.0};
  for (std::int64_t j = threadIdx.x; j < per_channel; j += kReduceThreads) {
    const std::int64_t n = j / layout.inner;
    const std::int64_t i = (n * layout.channels + c) * layout.inner + j % layout.inner;
    total = total + term(c, i);
  }
  const DoublePair sums = block_sum(total);
  if (threadIdx.x == 0) {
    first[c] = sums.first;
    second[c] = sums.second;
  }
}

template <typename Term>
void channel_sums(const Device& device, const ChannelLayout& layout, Term term, double* first,
                  double* second) {
  DeviceGuard guard(device.index);
  channel_sums_kernel<<<static_cast<unsigned>(layout.channels), kReduceThreads, 0,
                        stream(device.index)>>>(layout, term, first, second);
  DDP_CUDA_CHECK(cudaGetLastError());
}

// The channel of element i.
__device__ std::int64_t channel_of(const ChannelLayout& layout, std::int64_t i) {
  return (i / layout.inner) % layout.channels;
}

// The rows of moments [2, C] on device: mean, then 1 / sqrt(var + eps).
struct MomentRows {
  const float* mean;
  const float* invstd;
};

MomentRows moment_rows(const Tensor& moments, std::int64_t channels, const Device& device,
                       const char* op) {
  const float* mean = detail::data_on<float>(moments, device, op);
  return {mean, mean + channels};
}

}  // namespace

void batch_norm_statistics(const ChannelLayout& layout, const Tensor& x, Tensor& stats) {
  const Device device = stats.device();
  const float* in = detail::data_on<float>(x, device, "batch_norm_statistics");
  double* sums = detail::data_on<double>(stats, device, "batch_norm_statistics");
  const std::int64_t channels = layout.channels;
  const auto count = static_cast<double>(layout.batch * layout.inner);
  for_each_index(device, channels,
                 [=] __device__(std::int64_t c) { sums[2 * channels + c] = count; });
  channel_sums(
      device, layout,
      [=] __device__(std::int64_t, std::int64_t i) {
        const double v = in[i];
        return DoublePair{v, v * v};
      },
      sums, sums + channels);
}

void batch_norm_moments(const Tensor& stats, double eps, Tensor& moments) {
  const Device device = moments.device();
  const double* sums = detail::data_on<double>(stats, device, "batch_norm_moments");
  float* out = detail::data_on<float>(moments, device, "batch_norm_moments");
  const std::int64_t channels = moments.numel() / 2;
  for_each_index(device, channels, [=] __device__(std::int64_t c) {
    const double count = sums[2 * channels + c];
    const double mean = sums[c] / count;
    const double var = fmax(0.0, sums[channels + c] / count - mean * mean);
    out[c] = static_cast<float>(mean);
    out[channels + c] = static_cast<float>(1.0 / sqrt(var + eps));
  });
}

void batch_norm_running_moments(const Tensor& running_mean, const Tensor& running_var, double eps,
                                Tensor& moments) {
  const Device device = moments.device();
  const float* mean = detail::data_on<float>(running_mean, device, "batch_norm_running_moments");
  const float* var = detail::data_on<float>(running_var, device, "batch_norm_running_moments");
  float* out = detail::data_on<float>(moments, device, "batch_norm_running_moments");
  const std::int64_t channels = running_mean.numel();
  for_each_index(device, channels, [=] __device__(std::int64_t c) {
    out[c] = mean[c];
    out[channels + c] = static_cast<float>(1.0 / sqrt(static_cast<double>(var[c]) + eps));
  });
}

void batch_norm_update_running(const Tensor& stats, double momentum, Tensor& running_mean,
                               Tensor& running_var, Tensor& num_batches_tracked) {
  const char* op = "batch_norm_update_running";
  const Device device = running_mean.device();
  const double* sums = detail::data_on<double>(stats, device, op);
  float* mean = detail::data_on<float>(running_mean, device, op);
  float* var = detail::data_on<float>(running_var, device, op);
  std::int64_t* tracked = detail::data_on<std::int64_t>(num_batches_tracked, device, op);
  const std::int64_t channels = running_mean.numel();
  for_each_index(device, channels, [=] __device__(std::int64_t c) {
    if (c == 0) *tracked += 1;
    const double count = sums[2 * channels + c];
    if (count == 0) return;
    const double batch_mean = sums[c] / count;
    const double biased = fmax(0.0, sums[channels + c] / count - batch_mean * batch_mean);
    const double unbiased = biased * count / (count - 1);
    mean[c] = static_cast<float>((1 - momentum) * mean[c] + momentum * batch_mean);
    var[c] = static_cast<float>((1 - momentum) * var[c] + momentum * unbiased);
  });
}

void batch_norm_forward(const ChannelLayout& layout, const Tensor& x, const Tensor& moments,
                        const Tensor& weight, const Tensor& bias, Tensor& y) {
  const char* op = "batch_norm_forward";
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, op);
  const MomentRows rows = moment_rows(moments, layout.channels, device, op);
  const float* w = detail::data_on<float>(weight, device, op);
  const float* b = detail::data_on<float>(bias, device, op);
  float* out = detail::data_on<float>(y, device, op);
  for_each_index(device, layout.numel(), [=] __device__(std::int64_t i) {
    const std::int64_t c = channel_of(layout, i);
    out[i] = (in[i] - rows.mean[c]) * (w[c] * rows.invstd[c]) + b[c];
  });
}

void batch_norm_backward_sums(const ChannelLayout& layout, const Tensor& x, const Tensor& dy,
                              const Tensor& moments, Tensor& grad_sums) {
  const char* op = "batch_norm_backward_sums";
  const Device device = grad_sums.device();
  const float* in = detail::data_on<float>(x, device, op);
  const float* grad = detail::data_on<float>(dy, device, op);
  const MomentRows rows = moment_rows(moments, layout.channels, device, op);
  double* sums = detail::data_on<double>(grad_sums, device, op);
  channel_sums(
      device, layout,
      [=] __device__(std::int64_t c, std::int64_t i) {
        const double g = grad[i];
        return DoublePair{g, g * (static_cast<double>(in[i]) - rows.mean[c]) * rows.invstd[c]};
      },
      sums, sums + layout.channels);
}

void batch_norm_parameter_grads(const Tensor& grad_sums, Tensor& grad_weight,
                                bool accumulate_weight, Tensor& grad_bias, bool accumulate_bias) {
  const char* op = "batch_norm_parameter_grads";
  const Device device = grad_weight.device();
  const double* sums = detail::data_on<double>(grad_sums, device, op);
  float* gw = detail::data_on<float>(grad_weight, device, op);
  float* gb = detail::data_on<float>(grad_bias, device, op);
  const std::int64_t channels = grad_weight.numel();
  for_each_index(device, channels, [=] __device__(std::int64_t c) {
    gb[c] = (accumulate_bias ? gb[c] : 0.0f) + static_cast<float>(sums[c]);
    gw[c] = (accumulate_weight ? gw[c] : 0.0f) + static_cast<float>(sums[channels + c]);
  });
}

void batch_norm_backward_input(const ChannelLayout& layout, const Tensor& x, const Tensor& dy,
                               const Tensor& moments, const Tensor& weight, const Tensor& grad_sums,
                               double count, Tensor& dx) {
  const char* op = "batch_norm_backward_input";
  const Device device = dx.device();
  const float* in = detail::data_on<float>(x, device, op);
  const float* grad = detail::data_on<float>(dy, device, op);
  const MomentRows rows = moment_rows(moments, layout.channels, device, op);
  const float* w = detail::data_on<float>(weight, device, op);
  const double* sums = detail::data_on<double>(grad_sums, device, op);
  float* out = detail::data_on<float>(dx, device, op);
  const std::int64_t channels = layout.channels;
  for_each_index(device, layout.numel(), [=] __device__(std::int64_t i) {
    const std::int64_t c = channel_of(layout, i);
    const float a = w[c] * rows.invstd[c];
    const auto mean_dy = static_cast<float>(sums[c] / count);
    const auto mean_dy_xhat = static_cast<float>(sums[channels + c] / count);
    const float xhat = (in[i] - rows.mean[c]) * rows.invstd[c];
    out[i] = a * (grad[i] - mean_dy - xhat * mean_dy_xhat);
  });
}

void batch_norm_backward_input_eval(const ChannelLayout& layout, const Tensor& dy,
                                    const Tensor& moments, const Tensor& weight, Tensor& dx) {
  const char* op = "batch_norm_backward_input_eval";
  const Device device = dx.device();
  const float* grad = detail::data_on<float>(dy, device, op);
  const float* invstd = moment_rows(moments, layout.channels, device, op).invstd;
  const float* w = detail::data_on<float>(weight, device, op);
  float* out = detail::data_on<float>(dx, device, op);
  for_each_index(device, layout.numel(), [=] __device__(std::int64_t i) {
    const std::int64_t c = channel_of(layout, i);
    out[i] = grad[i] * (w[c] * invstd[c]);
  });
}

}  // namespace ddp::kernels::cuda
