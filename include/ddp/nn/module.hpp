// Module: a layer or a network of layers with named parameters and an explicit backward, which
// reports each parameter's gradient as soon as it is final (the hook DDP overlaps all-reduce with).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ddp/core/tensor.hpp"

namespace ddp::nn {

struct Parameter {
  std::string name;  // the state_dict key PyTorch would give it: "0.weight"
  Tensor value;
  // Same shape as value. Backward writes into this very tensor (overwriting when has_grad is
  // false, adding when true) and never reallocates it, so DDP may replace it with a view into a
  // flat bucket and gradients land in the bucket directly.
  Tensor grad;
  // False after zero_grad() until backward writes grad, like PyTorch's grad being None: a
  // parameter the backward never reached holds no gradient (grad's contents are stale: treat as 0).
  bool has_grad = false;
};

class LinearGradientSink;

// Called during backward with the parameter's position in parameters() when its grad is final.
using GradReadyHook = std::function<void(std::size_t parameter_index)>;

class Module {
 public:
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Runs the layer and keeps what backward needs. The returned tensor may live in a buffer of
  // the module: it is valid until the next forward.
  virtual Tensor forward(const Tensor& input) = 0;
  // Given d loss / d output of the last forward: accumulates the parameters' gradients, reports
  // each through the hook (last layer first) and returns d loss / d input, or an undefined tensor
  // when set_input_grad_needed(false) or the input is not differentiable (Embedding's indices).
  virtual Tensor backward(const Tensor& grad_output) = 0;

  // This module's parameters, then its children's in registration order, with dotted names:
  // the order of PyTorch's parameters() for the same architecture.
  std::vector<Parameter*> parameters();
  std::int64_t parameter_count();

  // Moves every parameter's value and grad, of this module and all below it, to device (module.to
  // in PyTorch); layers then keep their activations there. Do it before DDP wraps the module (its
  // buckets take over the grads) and before the optimizer's first step (its state follows the
  // parameters it first sees).
  void to(const Device& device);

  // Training mode (dropout active) or evaluation mode, for this module and all below it.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Marks every gradient absent (has_grad = false): the next backward overwrites instead of
  // adding, which saves a pass over the gradients.
  void zero_grad();

  // Installs hook on this module and all below it; indices count in this module's parameters().
  // An empty function removes it.
  void set_grad_ready_hook(GradReadyHook hook);
  // Installs sink on every Linear layer at or below this module (null removes it); each attaches
  // itself to it. A layer of another kind keeps computing its own gradients.
  virtual void set_linear_gradient_sink(LinearGradientSink* sink);

  // Whether backward computes d loss / d input. The model's input is data, which needs none:
  // turning it off on the model saves the first layer's largest GEMM, as autograd does.
  virtual void set_input_grad_needed(bool needed) { input_grad_needed_ = needed; }
  bool input_grad_needed() const { return input_grad_needed_; }

 protected:
  Module() = default;

  Parameter& register_parameter(std::string name, Shape shape);
  void register_module(std::string name, Module& child);
  // Called by backward once param.grad holds its final value for this step.
  void grad_ready(Parameter& param);

 private:
  void collect_parameters(std::vector<Parameter*>& out);
  void install_hook(const std::shared_ptr<const GradReadyHook>& hook, std::size_t& next_index);

  std::deque<Parameter> parameters_;  // a deque: Parameter& handed out stay valid
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
  bool input_grad_needed_ = true;
  std::shared_ptr<const GradReadyHook> hook_;
  std::vector<std::size_t> hook_indices_;  // per own parameter, its index for the hook
};

}  // namespace ddp::nn
