#include "ddp/nn/sequential.hpp"

#include <string>

namespace ddp::nn {

void Sequential::append(std::unique_ptr<Module> module) {
  DDP_CHECK(module != nullptr, "Sequential::append got a null module");
  register_module(std::to_string(layers_.size()), *module);
  if (layers_.empty()) module->set_input_grad_needed(input_grad_needed());
  module->train(is_training());
  layers_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& layer : layers_) x = layer->forward(x);
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
