#include "ddp/nn/linear.hpp"

#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/nn/init.hpp"

namespace ddp::nn {
namespace {

using kernels::Transpose;

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, Generator& generator,
               bool with_bias)
    : in_features_(in_features), out_features_(out_features), with_bias_(with_bias) {
  DDP_CHECK_ARG(in_features > 0 && out_features > 0, "Linear("
                                                         << in_features << ", " << out_features
                                                         << ") needs positive feature counts");
  const float bound = fan_in_uniform_bound(in_features);
  fill_uniform(register_parameter("weight", {out_features, in_features}).value, bound, generator);
  if (with_bias) fill_uniform(register_parameter("bias", {out_features}).value, bound, generator);
}

Tensor Linear::forward_impl(const Tensor& input) {
  DDP_CHECK(input.ndim() >= 1 && input.shape().back() == in_features_,
            "Linear(" << in_features_ << ", " << out_features_ << ") got input "
                      << to_string(input.shape()) << "; the last dimension must be "
                      << in_features_);
  Frame& frame = frames_[call_index()];
  const std::int64_t rows = input.numel() / in_features_;
  frame.input = input.reshape({rows, in_features_});
  const Tensor& weight = parameter(0).value;
  Tensor output = frame.output.get({rows, out_features_}, weight.device());
  float beta = 0.0f;
  if (with_bias_ && !bias_deferred_) {
    kernels::broadcast_rows(parameter(1).value, output);
    beta = 1.0f;
  }
  kernels::gemm(frame.input, Transpose::no, weight, Transpose::yes, output, 1.0f, beta);
  Shape out_shape = input.shape();
  out_shape.back() = out_features_;
  return output.reshape(std::move(out_shape));
}

Tensor Linear::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  const std::int64_t rows = frame.input.defined() ? frame.input.size(0) : -1;
  DDP_CHECK(rows >= 0 && grad_output.numel() == rows * out_features_,
            "Linear backward got grad_output " << to_string(grad_output.shape())
                                               << " for a forward of " << rows
                                               << " rows; call forward first, with the same batch");
  Tensor dy = grad_output.reshape({rows, out_features_});
  Parameter& weight = parameter(0);
  // Bias first, then weight: the reverse of registration, the order DDP's buckets expect.
  if (with_bias_) {
    Parameter& bias = parameter(1);
    kernels::sum_rows(dy, bias.grad, bias.has_grad);
    grad_ready(bias);
  }
  kernels::gemm(dy, Transpose::yes, frame.input, Transpose::no, weight.grad, 1.0f,
                weight.has_grad ? 1.0f : 0.0f);
  grad_ready(weight);
  if (!input_grad_needed()) return {};
  Tensor grad_input = frame.grad_input.get({rows, in_features_}, weight.value.device());
  kernels::gemm(dy, Transpose::no, weight.value, Transpose::no, grad_input);
  Shape in_shape = grad_output.shape();
  in_shape.back() = in_features_;
  return grad_input.reshape(std::move(in_shape));
}

}  // namespace ddp::nn
