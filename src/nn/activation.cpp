#include "ddp/nn/activation.hpp"

namespace ddp::nn {

Tensor ActivationLayer::forward_impl(const Tensor& input) {
  Frame& frame = frames_[call_index()];
  frame.input = input;
  frame.output = frame.output_memory.get(input.shape(), input.device());
  if (bias_of_ != nullptr) {
    const std::int64_t features = bias_of_->out_features();
    const std::int64_t rows = input.numel() / features;
    Tensor z = input.reshape({rows, features});
    Tensor y = frame.output.reshape({rows, features});
    kernels::bias_activation_forward(activation_, bias_of_->bias()->value, z, y);
  } else {
    kernels::activation_forward(activation_, input, frame.output);
  }
  return frame.output;
}

Tensor ActivationLayer::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  DDP_CHECK(frame.output.defined() && grad_output.shape() == frame.output.shape(),
            kernels::to_string(activation_)
                << " backward got grad_output " << to_string(grad_output.shape())
                << " for an output of " << to_string(frame.output.shape())
                << "; call forward first, with the same batch");
  if (!input_grad_needed()) return {};
  Tensor grad_input = frame.grad_input.get(grad_output.shape(), grad_output.device());
  kernels::activation_backward(activation_, frame.input, frame.output, grad_output, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
