// ReLU, exact GELU, tanh-approximated GELU and tanh with their derivatives on CUDA tensors, in the
// CPU kernels' formulas.
#include <cmath>
#include <numbers>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {

namespace {

// The activations as functions of one value, for the plain and the fused forward.
struct Relu {
  // `< 0 ? 0 : v` rather than max, so that a NaN passes through as it does in PyTorch.
  __device__ float operator()(float v) const { return v < 0.0f ? 0.0f : v; }
};
struct Gelu {
  __device__ float operator()(float v) const {
    const float inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
    return v * 0.5f * (1.0f + erff(v * inv_sqrt2));
  }
};
// v sigmoid(2 u), u = sqrt(2 / pi) (v + 0.044715 v^3): the CPU's form of 0.5 v (1 + tanh(u)).
constexpr float kGeluTanhBeta = static_cast<float>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
constexpr float kGeluTanhKappa = 0.044715f;

__device__ float gelu_tanh_exp(float v) {
  const float u = kGeluTanhBeta * (v + kGeluTanhKappa * v * v * v);
  return expf(-2.0f * u);
}

struct GeluTanh {
  __device__ float operator()(float v) const { return v / (1.0f + gelu_tanh_exp(v)); }
};
struct Tanh {
  __device__ float operator()(float v) const { return tanhf(v); }
};

template <typename F>
void apply(const Device& device, std::int64_t n, const float* in, float* out, F f) {
  for_each_index(device, n, [=] __device__(std::int64_t i) { out[i] = f(in[i]); });
}

template <typename F>
void apply_with_bias(const Device& device, std::int64_t n, std::int64_t features, const float* b,
                     float* pre, float* out, F f) {
  for_each_index(device, n, [=] __device__(std::int64_t i) {
    const float v = pre[i] + b[i % features];
    pre[i] = v;
    out[i] = f(v);
  });
}

}  // namespace

void activation_forward(Activation activation, const Tensor& x, Tensor& y) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, "activation_forward");
  float* out = detail::data_on<float>(y, device, "activation_forward");
  switch (activation) {
    case Activation::relu:
      return apply(device, y.numel(), in, out, Relu{});
    case Activation::gelu:
      return apply(device, y.numel(), in, out, Gelu{});
    case Activation::gelu_tanh:
      return apply(device, y.numel(), in, out, GeluTanh{});
    case Activation::tanh:
      return apply(device, y.numel(), in, out, Tanh{});
  }
}

void bias_activation_forward(Activation activation, const Tensor& bias, Tensor& z, Tensor& y) {
  const Device device = y.device();
  const float* b = detail::data_on<float>(bias, device, "bias_activation_forward");
  float* pre = detail::data_on<float>(z, device, "bias_activation_forward");
  float* out = detail::data_on<float>(y, device, "bias_activation_forward");
  const std::int64_t n = y.numel();
  const std::int64_t features = bias.numel();
  switch (activation) {
    case Activation::relu:
      return apply_with_bias(device, n, features, b, pre, out, Relu{});
    case Activation::gelu:
      return apply_with_bias(device, n, features, b, pre, out, Gelu{});
    case Activation::gelu_tanh:
      return apply_with_bias(device, n, features, b, pre, out, GeluTanh{});
    case Activation::tanh:
      return apply_with_bias(device, n, features, b, pre, out, Tanh{});
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
    case Activation::gelu_tanh: {
      const float* in = detail::data_on<float>(x, device, "activation_backward");
      for_each_index(device, n, [=] __device__(std::int64_t i) {
        const float v = in[i];
        const float e = gelu_tanh_exp(v);
        const float s = 1.0f / (1.0f + e);
        const float du = kGeluTanhBeta * (1.0f + 3.0f * kGeluTanhKappa * v * v);
        grad_in[i] = grad_out[i] * (s + 2.0f * v * e * s * s * du);
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
