#include "ddp/nn/layer_norm.hpp"

#include <algorithm>

#include "ddp/kernels/layer_norm.hpp"

namespace ddp::nn {

LayerNorm::LayerNorm(std::int64_t dim, double eps) : dim_(dim), eps_(eps) {
  DDP_CHECK_ARG(dim > 0, "LayerNorm(" << dim << ") needs a positive dimension");
  DDP_CHECK_ARG(eps >= 0.0, "LayerNorm(" << dim << ", eps " << eps << ") needs eps >= 0");
  Tensor& weight = register_parameter("weight", {dim}).value;
  std::fill_n(weight.data<float>(), dim, 1.0f);
  register_parameter("bias", {dim});  // zeros
}

Tensor LayerNorm::forward_impl(const Tensor& input) {
  DDP_CHECK(input.ndim() >= 1 && input.shape().back() == dim_,
            "LayerNorm(" << dim_ << ") got input " << to_string(input.shape())
                         << "; the last dimension must be " << dim_);
  Frame& frame = frames_[call_index()];
  const std::int64_t rows = input.numel() / dim_;
  const Device device = parameter(0).value.device();
  frame.input = input.reshape({rows, dim_});
  frame.stats = frame.stats_memory.get({rows, 2}, device);
  Tensor output = frame.output.get({rows, dim_}, device);
  kernels::layer_norm_forward(frame.input, parameter(0).value, parameter(1).value, eps_, output,
                              frame.stats);
  return output.reshape(input.shape());
}

Tensor LayerNorm::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  const std::int64_t rows = frame.input.defined() ? frame.input.size(0) : -1;
  DDP_CHECK(rows >= 0 && grad_output.numel() == rows * dim_ && grad_output.ndim() >= 1 &&
                grad_output.shape().back() == dim_,
            "LayerNorm backward got grad_output "
                << to_string(grad_output.shape()) << " for a forward of " << rows << " rows of "
                << dim_ << "; call forward first, with the same batch");
  const Tensor dy = grad_output.reshape({rows, dim_});
  Parameter& weight = parameter(0);
  Parameter& bias = parameter(1);
  kernels::layer_norm_parameter_grads(frame.input, dy, frame.stats, weight.grad, weight.has_grad,
                                      bias.grad, bias.has_grad);
  // Bias first, then weight: the reverse of registration, the order DDP's buckets expect.
  grad_ready(bias);
  grad_ready(weight);
  if (!input_grad_needed()) return {};
  Tensor grad_input = frame.grad_input.get({rows, dim_}, dy.device());
  kernels::layer_norm_backward_input(frame.input, dy, frame.stats, weight.value, grad_input);
  return grad_input.reshape(grad_output.shape());
}

}  // namespace ddp::nn
