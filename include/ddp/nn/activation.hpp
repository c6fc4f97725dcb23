// Activation layers: ReLU, GELU (the exact erf form, nn.GELU's default) and Tanh.
#pragma once

#include "ddp/kernels/activation.hpp"
#include "ddp/nn/buffer.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn {

// An elementwise function with no parameters; any input shape, 0 elements included.
class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(kernels::Activation activation) : activation_(activation) {}

  Tensor forward(const Tensor& input) override;
  // forward(linear.forward(input)) for a linear with a bias, that bias added in this layer's pass
  // over the output (kernels::bias_activation_forward) instead of a pass of its own; both backwards
  // as after forward.
  Tensor forward_after(Linear& linear, const Tensor& input);
  Tensor backward(const Tensor& grad_output) override;

 private:
  kernels::Activation activation_;
  Tensor input_;   // kept by reference for GELU's derivative
  Tensor output_;  // a view of output_buffer_: ReLU's and tanh's derivatives read it
  Buffer output_buffer_;
  Buffer grad_input_;
};

class ReLU : public ActivationLayer {
 public:
  ReLU() : ActivationLayer(kernels::Activation::relu) {}
};

class GELU : public ActivationLayer {
 public:
  GELU() : ActivationLayer(kernels::Activation::gelu) {}
};

class Tanh : public ActivationLayer {
 public:
  Tanh() : ActivationLayer(kernels::Activation::tanh) {}
};

}  // namespace ddp::nn
