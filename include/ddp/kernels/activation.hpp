// Elementwise activations (ReLU, exact GELU, GELU's tanh approximation, tanh) and their
// derivatives, as PyTorch defines them.
#pragma once

#include <string>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// gelu is nn.GELU's exact erf form; gelu_tanh is nn.GELU(approximate="tanh"), GPT-2's.
enum class Activation { relu, gelu, gelu_tanh, tanh };

// Whether f's derivative reads the input x (both GELUs) rather than the output y.
inline bool derivative_reads_input(Activation activation) {
  return activation == Activation::gelu || activation == Activation::gelu_tanh;
}

std::string to_string(Activation activation);

// y = f(x), elementwise over equal-sized float32 tensors; y may be x.
void activation_forward(Activation activation, const Tensor& x, Tensor& y);

// z [rows, features] += bias [features] on every row, then y = f(z): a Linear's bias and the
// activation after it in one pass over the GEMM's output, which then needs no bias pass of its own.
// z keeps the pre-activation (GELU's derivative reads it); y may not be z.
void bias_activation_forward(Activation activation, const Tensor& bias, Tensor& z, Tensor& y);

// dx = dy * f'(x). ReLU and tanh read the output y (so their input need not be kept), the GELUs
// read the input x; pass an undefined tensor for the one not read. dx may be dy (in place).
void activation_backward(Activation activation, const Tensor& x, const Tensor& y, const Tensor& dy,
                         Tensor& dx);

}  // namespace ddp::kernels
