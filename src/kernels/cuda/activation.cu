// ReLU, exact GELU and tanh with their derivatives on CUDA tensors, in the CPU kernels' formulas.
#include <cmath>
#include <numbers>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {

void activation_forward(Activation activation, const Tensor& x, Tensor& y) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, "activation_forward");
  float* out = detail::data_on<float>(y, device, "activation_forward");
  switch (activation) {
    case Activation::relu:
      // `< 0 ? 0 : v` rather than max, so that a NaN passes through as it does in PyTorch.
      for_each_index(device, y.numel(),
                     [=] __device__(std::int64_t i) { out[i] = in[i] < 0.0f ? 0.0f : in[i]; });
      break;
    case Activation::gelu: {
      const float inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
      for_each_index(device, y.numel(), [=] __device__(std::int64_t i) {
        out[i] = in[i] * 0.5f * (1.0f + erff(in[i] * inv_sqrt2));
      });
      break;
    }
    case Activation::tanh:
      for_each_index(device, y.numel(), [=] __device__(std::int64_t i) { out[i] = tanhf(in[i]); });
      break;
  }
}

void activation_backward(Activation activation, const Tensor& x, const Tensor& y, const Tensor& dy,
                         Tensor& dx) {
  const Device device = dx.device();
  const float* grad_out = detail::data_on<float>(dy, device, "activation_backward");
  float* grad_in = detail::data_on<float>(dx, device, "activation_backward");
  const std::int64_t n = dx.numel();
  switch (activation) {
    case Activation::relu: {
      const float* out = detail::data_on<float>(y, device, "activation_backward");
      for_each_index(device, n, [=] __device__(std::int64_t i) {
        grad_in[i] = out[i] > 0.0f ? grad_out[i] : 0.0f;
      });
      break;
    }
    case Activation::gelu: {
      const float* in = detail::data_on<float>(x, device, "activation_backward");
      const float alpha = static_cast<float>(1.0 / std::numbers::sqrt2);
      const float beta =
          static_cast<float>(0.5 / std::numbers::sqrt2 * 2.0 / std::sqrt(std::numbers::pi));
      for_each_index(device, n, [=] __device__(std::int64_t i) {
        const float cdf = 0.5f * (1.0f + erff(in[i] * alpha));
        const float pdf = beta * expf(in[i] * in[i] * -0.5f);
        grad_in[i] = grad_out[i] * (cdf + in[i] * pdf);
      });
      break;
    }
    case Activation::tanh: {
      const float* out = detail::data_on<float>(y, device, "activation_backward");
      for_each_index(device, n, [=] __device__(std::int64_t i) {
        grad_in[i] = grad_out[i] * (1.0f - out[i] * out[i]);
      });
      break;
    }
  }
}

}  // namespace ddp::kernels::cuda
