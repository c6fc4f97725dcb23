#include "ddp/nn/activation.hpp"

namespace ddp::nn {

Tensor ActivationLayer::forward(const Tensor& input) {
  input_ = input;
  output_ = output_buffer_.get(input.shape(), input.device());
  kernels::activation_forward(activation_, input, output_);
  return output_;
}

Tensor ActivationLayer::forward_after(Linear& linear, const Tensor& input) {
  DDP_CHECK(linear.bias() != nullptr, "forward_after needs a Linear with a bias to add");
  Tensor pre_activation = linear.forward_without_bias(input);
  output_ = output_buffer_.get(pre_activation.shape(), pre_activation.device());
  const std::int64_t rows = pre_activation.numel() / linear.out_features();
  Tensor z = pre_activation.reshape({rows, linear.out_features()});
  Tensor y = output_.reshape({rows, linear.out_features()});
  kernels::bias_activation_forward(activation_, linear.bias()->value, z, y);
  input_ = pre_activation;
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
