#include "ddp/kernels/activation.hpp"

#include <cmath>
#include <numbers>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "vector_exp.hpp"

namespace ddp::kernels {

std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::relu:
      return "relu";
    case Activation::gelu:
      return "gelu";
    case Activation::gelu_tanh:
      return "gelu_tanh";
    case Activation::tanh:
      return "tanh";
  }
  return "unknown";
}

namespace {

// The activations as functions of one value, for the plain and the fused forward.
struct Relu {
  // `< 0 ? 0 : v` rather than max, so that a NaN passes through as it does in PyTorch.
  float operator()(float v) const { return v < 0.0f ? 0.0f : v; }
};
struct Gelu {
  float operator()(float v) const {
    const float inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
    return v * 0.5f * (1.0f + std::erf(v * inv_sqrt2));
  }
};
// 0.5 v (1 + tanh(u)) with u = sqrt(2 / pi) (v + 0.044715 v^3), computed as v sigmoid(2 u) (the
// same function: 1 + tanh(u) = 2 sigmoid(2 u)) with one vectorisable exp: a libm tanh per element
// would cost more than the GEMMs around the activation.
constexpr float kGeluTanhBeta = static_cast<float>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
constexpr float kGeluTanhKappa = 0.044715f;

// e = exp(-2 u) for the input v: sigmoid(2 u) = 1 / (1 + e), and 1 - sigmoid(2 u) = e sigmoid(2 u)
// without the cancellation of 1 - s where s is near 1.
inline float gelu_tanh_exp(float v) {
  const float u = kGeluTanhBeta * (v + kGeluTanhKappa * v * v * v);
  return detail::vector_exp(-2.0f * u);
}

struct GeluTanh {
  float operator()(float v) const { return v / (1.0f + gelu_tanh_exp(v)); }
};
struct Tanh {
  float operator()(float v) const { return std::tanh(v); }
};

// Calls body with the function object of activation, so each loop is compiled for one function.
template <typename Body>
void with_function(Activation activation, Body body) {
  switch (activation) {
    case Activation::relu:
      return body(Relu{});
    case Activation::gelu:
      return body(Gelu{});
    case Activation::gelu_tanh:
      return body(GeluTanh{});
    case Activation::tanh:
      return body(Tanh{});
  }
}

}  // namespace

void activation_forward(Activation activation, const Tensor& x, Tensor& y) {
  detail::check_same_numel(x, y, "activation_forward");
  if (y.device().is_cuda()) return cuda::activation_forward(activation, x, y);
  const float* in = detail::cpu_floats(x, "activation_forward");
  float* out = detail::cpu_floats(y, "activation_forward");
  const std::int64_t n = x.numel();
  with_function(activation, [&](auto f) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
  });
}

void bias_activation_forward(Activation activation, const Tensor& bias, Tensor& z, Tensor& y) {
  DDP_CHECK(z.ndim() == 2 && bias.ndim() == 1 && z.size(1) == bias.size(0),
            "bias_activation_forward: matrix " << ddp::to_string(z.shape()) << " and bias "
                                               << ddp::to_string(bias.shape())
                                               << " do not match; the bias needs the column count");
  detail::check_same_numel(z, y, "bias_activation_forward");
  if (y.device().is_cuda()) return cuda::bias_activation_forward(activation, bias, z, y);
  const float* b = detail::cpu_floats(bias, "bias_activation_forward");
  float* pre = detail::cpu_floats(z, "bias_activation_forward");
  float* out = detail::cpu_floats(y, "bias_activation_forward");
  const std::int64_t rows = z.size(0);
  const std::int64_t features = z.size(1);
  with_function(activation, [&](auto f) {
    for (std::int64_t r = 0; r < rows; ++r) {
      float* pre_row = pre + r * features;
      float* out_row = out + r * features;
      for (std::int64_t c = 0; c < features; ++c) {
        const float v = pre_row[c] + b[c];
        pre_row[c] = v;
        out_row[c] = f(v);
      }
    }
  });
}

void activation_backward(Activation activation, const Tensor& x, const Tensor& y, const Tensor& dy,
                         Tensor& dx) {
  detail::check_same_numel(dy, dx, "activation_backward");
  // ReLU and tanh read the output, the GELUs the input.
  const std::string op = to_string(activation) + " backward";
  detail::check_same_numel(derivative_reads_input(activation) ? x : y, dy, op.c_str());
  if (dx.device().is_cuda()) return cuda::activation_backward(activation, x, y, dy, dx);
  const float* grad_out = detail::cpu_floats(dy, "activation_backward");
  float* grad_in = detail::cpu_floats(dx, "activation_backward");
  const std::int64_t n = dy.numel();
  switch (activation) {
    case Activation::relu: {
      const float* out = detail::cpu_floats(y, "activation_backward");
      // Both loads unconditional: a load under the condition would keep the compiler from
      // vectorising this into a select, and a branch per element mispredicts half the time.
      for (std::int64_t i = 0; i < n; ++i) {
        const float g = grad_out[i];
        grad_in[i] = out[i] > 0.0f ? g : 0.0f;
      }
      break;
    }
    case Activation::gelu: {
      const float* in = detail::cpu_floats(x, "activation_backward");
      const float alpha = static_cast<float>(1.0 / std::numbers::sqrt2);
      const float beta =
          static_cast<float>(0.5 / std::numbers::sqrt2 * 2.0 / std::sqrt(std::numbers::pi));
      for (std::int64_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(in[i] * alpha));
        const float pdf = beta * std::exp(in[i] * in[i] * -0.5f);
        grad_in[i] = grad_out[i] * (cdf + in[i] * pdf);
      }
      break;
    }
    case Activation::gelu_tanh: {
      // d/dv of v s, s = sigmoid(2 u): s + v 2 s (1 - s) du/dv, PyTorch's GeluBackward (tanh)
      // with 1 + tanh(u) = 2 s and 1 - tanh(u)^2 = 4 s (1 - s), 1 - s = e s.
      const float* in = detail::cpu_floats(x, "activation_backward");
      for (std::int64_t i = 0; i < n; ++i) {
        const float v = in[i];
        const float e = gelu_tanh_exp(v);
        const float s = 1.0f / (1.0f + e);
        const float du = kGeluTanhBeta * (1.0f + 3.0f * kGeluTanhKappa * v * v);
        grad_in[i] = grad_out[i] * (s + 2.0f * v * e * s * s * du);
      }
      break;
    }
    case Activation::tanh: {
      const float* out = detail::cpu_floats(y, "activation_backward");
      for (std::int64_t i = 0; i < n; ++i) grad_in[i] = grad_out[i] * (1.0f - out[i] * out[i]);
      break;
    }
  }
}

}  // namespace ddp::kernels
