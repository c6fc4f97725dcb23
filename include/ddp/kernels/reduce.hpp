// Reductions of a whole float32 tensor to one number, accumulated in double.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

double sum(const Tensor& x);

// sum of x^2: the square of the L2 norm (gradient clipping adds these over parameters).
double squared_norm(const Tensor& x);

}  // namespace ddp::kernels
