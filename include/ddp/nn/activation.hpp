// Activation layers: ReLU, GELU (the exact erf form, nn.GELU's default), GELUTanh (GPT-2's tanh
// approximation) and Tanh.
#pragma once

#include "ddp/kernels/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

// An elementwise function with no parameters; any input shape, 0 elements included.
class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(kernels::Activation activation) : activation_(activation) {}

  // Set by a Sequential where this layer follows linear (whose forward then leaves its bias
  // out): forward adds linear's bias to its input in the same pass as the activation
  // (kernels::bias_activation_forward), which saves the Linear a pass of its own over the output.
  // The input is changed in place: it is the Linear's output, which nothing else reads. Null
  // turns it off.
  void add_bias_of(Linear* linear) { bias_of_ = linear; }

 protected:
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    Tensor input;   // kept by reference for the GELUs' derivatives
    Tensor output;  // a view of output_memory: ReLU's and tanh's derivatives read it
    Workspace output_memory;
    Workspace grad_input;
  };

  kernels::Activation activation_;
  Linear* bias_of_ = nullptr;
  CallFrames<Frame> frames_;
};

class ReLU : public ActivationLayer {
 public:
  ReLU() : ActivationLayer(kernels::Activation::relu) {}
};

class GELU : public ActivationLayer {
 public:
  GELU() : ActivationLayer(kernels::Activation::gelu) {}
};

// nn.GELU(approximate="tanh").
class GELUTanh : public ActivationLayer {
 public:
  GELUTanh() : ActivationLayer(kernels::Activation::gelu_tanh) {}
};

class Tanh : public ActivationLayer {
 public:
  Tanh() : ActivationLayer(kernels::Activation::tanh) {}
};

}  // namespace ddp::nn
