#include "ddp/nn/sequential.hpp"

#include <string>

#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"

namespace ddp::nn {

void Sequential::append(std::unique_ptr<Module> module, std::string name) {
  DDP_CHECK(module != nullptr, "Sequential::append got a null module");
  register_module(name.empty() ? std::to_string(layers_.size()) : std::move(name), *module);
  if (layers_.empty()) module->set_input_grad_needed(input_grad_needed());
  module->train(is_training());
  if (!layers_.empty()) {
    auto* linear = dynamic_cast<Linear*>(layers_.back().get());
    auto* activation = dynamic_cast<ActivationLayer*>(module.get());
    if (linear != nullptr && linear->bias() != nullptr && activation != nullptr) {
      linear->set_bias_added_by_next(true);
      activation->add_bias_of(linear);
    }
  }
  layers_.push_back(std::move(module));
}

Tensor Sequential::forward_impl(const Tensor& input) {
  Tensor x = input;
  for (auto& layer : layers_) x = layer->forward(x);
  return x;
}

Tensor Sequential::backward_impl(const Tensor& grad_output) {
  Tensor grad = grad_output;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) grad = (*it)->backward(grad);
  return grad;
}

void Sequential::set_input_grad_needed(bool needed) {
  Module::set_input_grad_needed(needed);
  if (!layers_.empty()) layers_.front()->set_input_grad_needed(needed);
}

}  // namespace ddp::nn
