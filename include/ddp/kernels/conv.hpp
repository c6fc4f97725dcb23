// The layouts behind a 2-D convolution computed as a GEMM: im2col lays every kernel window of a
// batch of images out as one column, so that weight [out, C*k*k] times the columns is the output;
// col2im is its adjoint, which adds each column entry back where it was read (the input gradient).
// Square kernel, stride and zero padding, dilation 1. Contiguous float32 tensors on one device.
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

struct ConvWindow {
  std::int64_t kernel_size = 1;
  std::int64_t stride = 1;
  std::int64_t padding = 0;

  // Output positions along a dimension of `input` elements: (input + 2 padding - kernel) / stride
  // + 1, for input + 2 padding >= kernel.
  std::int64_t output_size(std::int64_t input) const {
    return (input + 2 * padding - kernel_size) / stride + 1;
  }
};

// col [C*k*k, N*Ho*Wo] from x [N, C, H, W]:
//   col[(c*k + i)*k + j, (n*Ho + oh)*Wo + ow] = x[n, c, oh*s + i - p, ow*s + j - p],
// 0 where that falls in the padding. N may be 0.
void im2col(const Tensor& x, const ConvWindow& window, Tensor& col);

// x [N, C, H, W] = im2col's adjoint of col [C*k*k, N*Ho*Wo]: each x element is overwritten with
// the sum of the col entries that im2col copies from it (the padding's are dropped).
void col2im(const Tensor& col, const ConvWindow& window, Tensor& x);

}  // namespace ddp::kernels
