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

}  // namespace

Pool2d::Pool2d(std::int64_t kernel_size, std::int64_t stride, const char* layer)
    : kernel_size_(kernel_size), stride_(stride == 0 ? kernel_size : stride), layer_(layer) {
  DDP_CHECK_ARG(kernel_size >= 1 && stride >= 0,
                layer << "(kernel_size " << kernel_size << ", stride " << stride
                      << ") needs kernel_size >= 1 and stride >= 0 (0: kernel_size)");
}

Shape Pool2d::output_shape(const Tensor& input) const {
  return kernels::pool2d_output_shape(input.shape(), kernel_size_, stride_, layer_);
}

MaxPool2d::MaxPool2d(std::int64_t kernel_size, std::int64_t stride)
    : Pool2d(kernel_size, stride, "MaxPool2d") {}

Tensor MaxPool2d::forward_impl(const Tensor& input) {
  PoolingFrame& f = frame();
  const Shape shape = output_shape(input);
  Tensor output = start_call(f, input, shape);
  f.argmax = f.argmax_memory.get(shape, input.device(), DType::int32);
  kernels::max_pool2d(input, kernel_size(), stride(), output, f.argmax);
  return output;
}

Tensor MaxPool2d::backward_impl(const Tensor& grad_output) {
  PoolingFrame& f = frame();
  Tensor grad_input = grad_input_of_call(f, grad_output, input_grad_needed(), layer());
  if (grad_input.defined()) {
    kernels::max_pool2d_backward(grad_output, f.argmax, kernel_size(), stride(), grad_input);
  }
  return grad_input;
}

AvgPool2d::AvgPool2d(std::int64_t kernel_size, std::int64_t stride)
    : Pool2d(kernel_size, stride, "AvgPool2d") {}

Tensor AvgPool2d::forward_impl(const Tensor& input) {
  Tensor output = start_call(frame(), input, output_shape(input));
  kernels::avg_pool2d(input, kernel_size(), stride(), output);
  return output;
}

Tensor AvgPool2d::backward_impl(const Tensor& grad_output) {
  Tensor grad_input = grad_input_of_call(frame(), grad_output, input_grad_needed(), layer());
  if (grad_input.defined()) {
    kernels::avg_pool2d_backward(grad_output, kernel_size(), stride(), grad_input);
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
