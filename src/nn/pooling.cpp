#include "ddp/nn/pooling.hpp"

#include "ddp/kernels/pooling.hpp"

namespace ddp::nn {
namespace {

// The output tensor of this call for input, its shapes recorded for backward.
Tensor start_call(PoolingFrame& frame, const Tensor& input, const Shape& output_shape) {
  frame.input_shape = input.shape();
  frame.output_shape = output_shape;
  return frame.output.get(output_shape, input.device());
}

// The tensor this call's d loss / d input goes into, after checking grad_output against the
// call's output; undefined when the input needs no gradient.
Tensor grad_input_of_call(PoolingFrame& frame, const Tensor& grad_output, bool needed,
                          const char* layer) {
  DDP_CHECK(!frame.input_shape.empty() && grad_output.shape() == frame.output_shape,
            layer << " backward got grad_output " << to_string(grad_output.shape())
                  << " for an output of " << to_string(frame.output_shape)
                  << "; call forward first, with the same batch");
  if (!needed) return {};
  return frame.grad_input.get(frame.input_shape, grad_output.device());
}

// stride 0 is PyTorch's stride=None: the kernel's size, windows side by side.
std::int64_t stride_or_kernel(std::int64_t stride, std::int64_t kernel_size, const char* layer) {
  DDP_CHECK_ARG(kernel_size >= 1 && stride >= 0,
                layer << "(kernel_size " << kernel_size << ", stride " << stride
                      << ") needs kernel_size >= 1 and stride >= 0 (0: kernel_size)");
  return stride == 0 ? kernel_size : stride;
}

}  // namespace

MaxPool2d::MaxPool2d(std::int64_t kernel_size, std::int64_t stride)
    : kernel_size_(kernel_size), stride_(stride_or_kernel(stride, kernel_size, "MaxPool2d")) {}

Tensor MaxPool2d::forward_impl(const Tensor& input) {
  PoolingFrame& frame = frames_[call_index()];
  const Shape shape =
      kernels::pool2d_output_shape(input.shape(), kernel_size_, stride_, "MaxPool2d");
  Tensor output = start_call(frame, input, shape);
  frame.argmax = frame.argmax_memory.get(shape, input.device(), DType::int32);
  kernels::max_pool2d(input, kernel_size_, stride_, output, frame.argmax);
  return output;
}

Tensor MaxPool2d::backward_impl(const Tensor& grad_output) {
  PoolingFrame& frame = frames_[call_index()];
  Tensor grad_input = grad_input_of_call(frame, grad_output, input_grad_needed(), "MaxPool2d");
  if (grad_input.defined()) {
    kernels::max_pool2d_backward(grad_output, frame.argmax, kernel_size_, stride_, grad_input);
  }
  return grad_input;
}

AvgPool2d::AvgPool2d(std::int64_t kernel_size, std::int64_t stride)
    : kernel_size_(kernel_size), stride_(stride_or_kernel(stride, kernel_size, "AvgPool2d")) {}

Tensor AvgPool2d::forward_impl(const Tensor& input) {
  PoolingFrame& frame = frames_[call_index()];
  Tensor output =
      start_call(frame, input,
                 kernels::pool2d_output_shape(input.shape(), kernel_size_, stride_, "AvgPool2d"));
  kernels::avg_pool2d(input, kernel_size_, stride_, output);
  return output;
}

Tensor AvgPool2d::backward_impl(const Tensor& grad_output) {
  PoolingFrame& frame = frames_[call_index()];
  Tensor grad_input = grad_input_of_call(frame, grad_output, input_grad_needed(), "AvgPool2d");
  if (grad_input.defined()) {
    kernels::avg_pool2d_backward(grad_output, kernel_size_, stride_, grad_input);
  }
  return grad_input;
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::int64_t output_size) : output_size_(output_size) {
  DDP_CHECK_ARG(output_size >= 1,
                "AdaptiveAvgPool2d(" << output_size << ") needs an output size >= 1");
}

Tensor AdaptiveAvgPool2d::forward_impl(const Tensor& input) {
  DDP_CHECK(input.ndim() == 4 && input.size(2) >= 1 && input.size(3) >= 1,
            "AdaptiveAvgPool2d needs an input [N, C, H, W] with H, W >= 1; got "
                << to_string(input.shape()) << " (a single image is [1, C, H, W])");
  PoolingFrame& frame = frames_[call_index()];
  Tensor output =
      start_call(frame, input, {input.size(0), input.size(1), output_size_, output_size_});
  kernels::adaptive_avg_pool2d(input, output);
  return output;
}

Tensor AdaptiveAvgPool2d::backward_impl(const Tensor& grad_output) {
  PoolingFrame& frame = frames_[call_index()];
  Tensor grad_input =
      grad_input_of_call(frame, grad_output, input_grad_needed(), "AdaptiveAvgPool2d");
  if (grad_input.defined()) kernels::adaptive_avg_pool2d_backward(grad_output, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
