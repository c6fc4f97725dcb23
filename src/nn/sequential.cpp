#include "ddp/nn/sequential.hpp"

#include <string>

#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"

namespace ddp::nn {

void Sequential::append(std::unique_ptr<Module> module) {
  DDP_CHECK(module != nullptr, "Sequential::append got a null module");
  register_module(std::to_string(layers_.size()), *module);
  if (layers_.empty()) module->set_input_grad_needed(input_grad_needed());
  module->train(is_training());
  if (!layers_.empty()) {
    auto* linear = dynamic_cast<Linear*>(layers_.back().get());
    fused_with_next_.back() = linear != nullptr && linear->bias() != nullptr &&
                              dynamic_cast<ActivationLayer*>(module.get()) != nullptr;
  }
  layers_.push_back(std::move(module));
  fused_with_next_.push_back(false);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (fused_with_next_[i]) {
      auto& linear = static_cast<Linear&>(*layers_[i]);
      x = static_cast<ActivationLayer&>(*layers_[++i]).forward_after(linear, x);
    } else {
      x = layers_[i]->forward(x);
    }
  }
  return x;
}

Tensor Sequential::backward(const Tensor& grad_output) {
  Tensor grad = grad_output;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) grad = (*it)->backward(grad);
  return grad;
}

void Sequential::set_input_grad_needed(bool needed) {
  Module::set_input_grad_needed(needed);
  if (!layers_.empty()) layers_.front()->set_input_grad_needed(needed);
}

}  // namespace ddp::nn
