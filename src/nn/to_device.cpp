#include "ddp/nn/to_device.hpp"

namespace ddp::nn {

Tensor ToDevice::forward_impl(const Tensor& input) {
  input_devices_[call_index()] = input.device();
  return input.to(device_);
}

Tensor ToDevice::backward_impl(const Tensor& grad_output) {
  const std::optional<Device>& input_device = input_devices_[call_index()];
  DDP_CHECK(input_device.has_value(), "ToDevice("
                                          << to_string(device_)
                                          << ") backward before any forward; call forward first");
  DDP_CHECK(grad_output.device() == device_,
            "ToDevice(" << to_string(device_) << ") backward got a gradient on "
                        << to_string(grad_output.device()) << "; it expects one on "
                        << to_string(device_) << ", where its forward put the output");
  if (!input_grad_needed()) return {};
  return grad_output.to(*input_device);
}

}  // namespace ddp::nn
