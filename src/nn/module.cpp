#include "ddp/nn/module.hpp"

namespace ddp::nn {

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  collect_parameters(out);
  return out;
}

std::int64_t Module::parameter_count() {
  std::int64_t total = 0;
  for (const Parameter* param : parameters()) total += param->value.numel();
  return total;
}

void Module::collect_parameters(std::vector<Parameter*>& out) {
  for (Parameter& param : parameters_) out.push_back(&param);
  for (auto& child : children_) child.second->collect_parameters(out);
}

void Module::to(const Device& device) {
  for (Parameter* param : parameters()) {
    param->value = param->value.to(device);
    param->grad = param->grad.to(device);
  }
}

void Module::train(bool training) {
  training_ = training;
  for (auto& child : children_) child.second->train(training);
}

void Module::zero_grad() {
  for (Parameter* param : parameters()) param->has_grad = false;
}

void Module::set_grad_ready_hook(GradReadyHook hook) {
  std::shared_ptr<const GradReadyHook> shared;
  if (hook) shared = std::make_shared<const GradReadyHook>(std::move(hook));
  std::size_t next_index = 0;
  install_hook(shared, next_index);
}

void Module::set_linear_gradient_sink(LinearGradientSink* sink) {
  for (auto& child : children_) child.second->set_linear_gradient_sink(sink);
}

void Module::install_hook(const std::shared_ptr<const GradReadyHook>& hook,
                          std::size_t& next_index) {
  hook_ = hook;
  hook_indices_.clear();
  for (std::size_t i = 0; i < parameters_.size(); ++i) hook_indices_.push_back(next_index++);
  for (auto& child : children_) child.second->install_hook(hook, next_index);
}

Parameter& Module::register_parameter(std::string name, Shape shape) {
  Parameter& param = parameters_.emplace_back();
  param.name = std::move(name);
  param.value = Tensor::zeros(shape);
  param.grad = Tensor::zeros(std::move(shape));
  return param;
}

void Module::register_module(std::string name, Module& child) {
  // Modules are built bottom up, so prefixing here yields the full dotted path at any depth.
  for (Parameter* param : child.parameters()) param->name = name + "." + param->name;
  children_.emplace_back(std::move(name), &child);
}

void Module::grad_ready(Parameter& param) {
  param.has_grad = true;
  if (!hook_) return;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (&parameters_[i] == &param) {
      (*hook_)(hook_indices_[i]);
      return;
    }
  }
}

}  // namespace ddp::nn
