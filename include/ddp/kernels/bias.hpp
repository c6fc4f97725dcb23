// A bias broadcast over the rows of a matrix, and its gradient (the column sums).
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// Sets every row of y [rows, features] to bias [features]: done before a GEMM with beta = 1,
// as PyTorch's addmm does, so the bias costs one write and no extra pass.
void broadcast_rows(const Tensor& bias, Tensor& y);

// grad_bias [features] = (accumulate ? grad_bias : 0) + sum over rows of dy [rows, features].
void sum_rows(const Tensor& dy, Tensor& grad_bias, bool accumulate);

}  // namespace ddp::kernels
