// 2-D max and average pooling over [N, C, H, W] float32 tensors and their gradients, as PyTorch's
// max_pool2d, avg_pool2d (padding 0, floor mode) and adaptive_avg_pool2d compute them.
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// [N, C, Ho, Wo] with Ho = (H - kernel) / stride + 1, likewise Wo: the output of a kernel x kernel
// pooling stride apart over an input of shape [N, C, H, W]. An Error unless the input has rank 4
// and H, W >= kernel >= 1, stride >= 1; `layer` names the caller in it ("MaxPool2d").
Shape pool2d_output_shape(const Shape& input, std::int64_t kernel, std::int64_t stride,
                          const char* layer);

// y = the maximum of each window of x [N, C, H, W], and argmax (int32, y's shape) = its position
// h * W + w in its plane: the first of equal maxima in row-major window order, or the last NaN
// (PyTorch's rule: a NaN is larger than everything).
void max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, Tensor& y,
                Tensor& argmax);
// dx [N, C, H, W] = the sum of the dy of every window whose argmax is that element, 0 elsewhere.
void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, std::int64_t kernel,
                         std::int64_t stride, Tensor& dx);

// y = the mean of each kernel x kernel window of x.
void avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, Tensor& y);
// dx = the sum over the windows holding each element of their dy / (kernel * kernel).
void avg_pool2d_backward(const Tensor& dy, std::int64_t kernel, std::int64_t stride, Tensor& dx);

// y [N, C, Ho, Wo] = the mean of x over PyTorch's adaptive windows: output row i covers rows
// [floor(i * H / Ho), ceil((i + 1) * H / Ho)), columns likewise. Ho = Wo = 1 is the global mean.
void adaptive_avg_pool2d(const Tensor& x, Tensor& y);
void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx);

}  // namespace ddp::kernels
