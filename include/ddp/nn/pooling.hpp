// 2-D pooling layers over [N, C, H, W] float32 inputs, as PyTorch's nn.MaxPool2d, nn.AvgPool2d
// (padding 0, floor mode: Ho = (H - kernel_size) / stride + 1) and nn.AdaptiveAvgPool2d. None has
// parameters; an empty batch (N = 0) gives an empty output and input gradient.
#pragma once

#include <cstdint>

#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

// What one call of a pooling layer keeps for its backward.
struct PoolingFrame {
  Shape input_shape;
  Shape output_shape;
  Tensor argmax;  // MaxPool2d: each output's position h * W + w in its input plane
  Workspace argmax_memory;
  Workspace output;
  Workspace grad_input;
};

// What MaxPool2d and AvgPool2d share: kernel_size x kernel_size windows, stride apart (0:
// kernel_size, PyTorch's None), padding 0, floor mode.
class Pool2d : public Module {
 public:
  std::int64_t kernel_size() const { return kernel_size_; }
  std::int64_t stride() const { return stride_; }

 protected:
  // layer names the subclass in errors: "MaxPool2d".
  Pool2d(std::int64_t kernel_size, std::int64_t stride, const char* layer);

  const char* layer() const { return layer_; }
  // The output shape for input [N, C, H, W]: an Error naming the layer for any other shape.
  Shape output_shape(const Tensor& input) const;
  PoolingFrame& frame() { return frames_[call_index()]; }

 private:
  std::int64_t kernel_size_;
  std::int64_t stride_;
  const char* layer_;
  CallFrames<PoolingFrame> frames_;
};

// The maximum of each window. Backward sends each output's gradient to the element PyTorch picks
// as the maximum (the first of equal values in row-major window order; a NaN beats everything);
// overlapping windows (stride < kernel_size) add up.
class MaxPool2d : public Pool2d {
 public:
  explicit MaxPool2d(std::int64_t kernel_size, std::int64_t stride = 0);

 protected:
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;
};

// The mean of each window.
class AvgPool2d : public Pool2d {
 public:
  explicit AvgPool2d(std::int64_t kernel_size, std::int64_t stride = 0);

 protected:
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;
};

// [N, C, H, W] -> [N, C, output_size, output_size], output row i the mean of input rows
// [floor(i * H / output_size), ceil((i + 1) * H / output_size)), columns likewise: with
// output_size 1 the global average pooling before a classifier (a Flatten follows).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(std::int64_t output_size);

  std::int64_t output_size() const { return output_size_; }

 protected:
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  std::int64_t output_size_;
  CallFrames<PoolingFrame> frames_;
};

}  // namespace ddp::nn
