#include "ddp/nn/linear.hpp"

#include <cmath>

#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/nn/linear_gradient_sink.hpp"

namespace ddp::nn {
namespace {

using kernels::Transpose;

void fill_uniform(Tensor& t, float bound, Generator& generator) {
  float* data = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = generator.uniform(-bound, bound);
}

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, Generator& generator,
               bool with_bias)
    : in_features_(in_features), out_features_(out_features) {
  DDP_CHECK_ARG(in_features > 0 && out_features > 0, "Linear("
                                                         << in_features << ", " << out_features
                                                         << ") needs positive feature counts");
  weight_ = &register_parameter("weight", {out_features, in_features});
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  fill_uniform(weight_->value, bound, generator);
  if (with_bias) {
    bias_ = &register_parameter("bias", {out_features});
    fill_uniform(bias_->value, bound, generator);
  }
}

Tensor Linear::forward(const Tensor& input) {
  return affine(input, true);
}

Tensor Linear::forward_without_bias(const Tensor& input) {
  return affine(input, false);
}

Tensor Linear::affine(const Tensor& input, bool add_bias) {
  DDP_CHECK(input.ndim() >= 1 && input.shape().back() == in_features_,
            "Linear(" << in_features_ << ", " << out_features_ << ") got input "
                      << to_string(input.shape()) << "; the last dimension must be "
                      << in_features_);
  const std::int64_t rows = input.numel() / in_features_;
  input_ = input.reshape({rows, in_features_});
  Shape out_shape = input.shape();
  out_shape.back() = out_features_;
  Tensor output = output_.get({rows, out_features_}, weight_->value.device());
  float beta = 0.0f;
  if (add_bias && bias_ != nullptr) {
    kernels::broadcast_rows(bias_->value, output);
    beta = 1.0f;
  }
  kernels::gemm(input_, Transpose::no, weight_->value, Transpose::yes, output, 1.0f, beta);
  return output.reshape(std::move(out_shape));
}

void Linear::set_linear_gradient_sink(LinearGradientSink* sink) {
  gradient_sink_ = sink;
  if (sink != nullptr) sink->attach(*weight_, bias_);
}

Tensor Linear::backward(const Tensor& grad_output) {
  const std::int64_t rows = input_.defined() ? input_.size(0) : -1;
  DDP_CHECK(rows >= 0 && grad_output.numel() == rows * out_features_,
            "Linear backward got grad_output " << to_string(grad_output.shape())
                                               << " for a forward of " << rows
                                               << " rows; call forward first, with the same batch");
  Tensor dy = grad_output.reshape({rows, out_features_});
  if (gradient_sink_ == nullptr || !gradient_sink_->take(*weight_, dy, input_)) {
    // Bias first, then weight: the reverse of registration, the order DDP's buckets expect.
    if (bias_ != nullptr) {
      kernels::sum_rows(dy, bias_->grad, bias_->has_grad);
      grad_ready(*bias_);
    }
    kernels::gemm(dy, Transpose::yes, input_, Transpose::no, weight_->grad, 1.0f,
                  weight_->has_grad ? 1.0f : 0.0f);
    grad_ready(*weight_);
  }
  if (!input_grad_needed()) return {};
  Tensor grad_input = grad_input_.get({rows, in_features_}, weight_->value.device());
  kernels::gemm(dy, Transpose::no, weight_->value, Transpose::no, grad_input);
  Shape in_shape = grad_output.shape();
  in_shape.back() = in_features_;
  return grad_input.reshape(std::move(in_shape));
}

}  // namespace ddp::nn
