#include "ddp/nn/activation.hpp"

namespace ddp::nn {

Tensor ActivationLayer::forward(const Tensor& input) {
  input_ = input;
  output_ = output_buffer_.get(input.shape(), input.device());
  kernels::activation_forward(activation_, input, output_);
  return output_;
}

Tensor ActivationLayer::backward(const Tensor& grad_output) {
  DDP_CHECK(output_.defined() && grad_output.shape() == output_.shape(),
            kernels::to_string(activation_)
                << " backward got grad_output " << to_string(grad_output.shape())
                << " for an output of " << to_string(output_.shape())
                << "; call forward first, with the same batch");
  if (!input_grad_needed()) return {};
  Tensor grad_input = grad_input_.get(grad_output.shape(), grad_output.device());
  kernels::activation_backward(activation_, input_, output_, grad_output, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
