// ToDevice: a layer that moves activations to another device and their gradients back, so that
// parts of one model live on different devices (x.to(device) inside a PyTorch forward, as in its
// multi-GPU tutorial: an embedding on the CPU feeding layers on a GPU).
#pragma once

#include <optional>

#include "ddp/nn/module.hpp"

namespace ddp::nn {

class ToDevice : public Module {
 public:
  explicit ToDevice(Device device) : device_(device) {}

 protected:
  // The input on device (the input itself when it is there already).
  Tensor forward_impl(const Tensor& input) override;
  // The gradient on the device the forward's input came from.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  Device device_;
  CallFrames<std::optional<Device>> input_devices_;  // per call: where its input was
};

}  // namespace ddp::nn
