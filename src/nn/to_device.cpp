#include "ddp/nn/to_device.hpp"

namespace ddp::nn {

Tensor ToDevice::forward(const Tensor& input) {
  input_device_ = input.device();
  return input.to(device_);
}

Tensor ToDevice::backward(const Tensor& grad_output) {
  DDP_CHECK(input_device_.has_value(), "ToDevice("
                                           << to_string(device_)
                                           << ") backward before any forward; call forward first");
  DDP_CHECK(grad_output.device() == device_,
            "ToDevice(" << to_string(device_) << ") backward got a gradient on "
                        << to_string(grad_output.device()) << "; it expects one on "
                        << to_string(device_) << ", where its forward put the output");
  if (!input_grad_needed()) return {};
  return grad_output.to(*input_device_);
}

}  // namespace ddp::nn
