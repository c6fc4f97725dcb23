// A bias broadcast over the rows of a matrix, or over the channels of a batch of feature maps, and
// its gradient (the column sums, or the sums per channel).
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// Sets every row of y [rows, features] to bias [features]: done before a GEMM with beta = 1,
// as PyTorch's addmm does, so the bias costs one write and no extra pass.
void broadcast_rows(const Tensor& bias, Tensor& y);

// grad_bias [features] = (accumulate ? grad_bias : 0) + sum over rows of dy [rows, features].
void sum_rows(const Tensor& dy, Tensor& grad_bias, bool accumulate);

// Sets y[b, c, l] = bias[c] for y [batch, channels, positions] and bias [channels]: a convolution's
// bias, written before its GEMM adds onto it with beta = 1.
void broadcast_channels(const Tensor& bias, Tensor& y);

// grad_bias [channels] = (accumulate ? grad_bias : 0) + the sum over b and l of dy [batch,
// channels, positions]; batch may be 0.
void sum_channels(const Tensor& dy, Tensor& grad_bias, bool accumulate);

}  // namespace ddp::kernels
