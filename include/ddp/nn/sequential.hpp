// Sequential: modules applied in order, named "0", "1", ... like nn.Sequential (or by the names
// given, like nn.Sequential(OrderedDict(...))), so parameter names and order (hence exported
// weights) match PyTorch's for the same stack of layers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ddp/nn/module.hpp"

namespace ddp::nn {

class Sequential : public Module {
 public:
  Sequential() = default;

  // Builds a module in place at the end and returns it: seq.emplace<Linear>(784, 1024, gen).
  template <typename M, typename... Args>
  M& emplace(Args&&... args) {
    auto module = std::make_unique<M>(std::forward<Args>(args)...);
    M& ref = *module;
    append(std::move(module));
    return ref;
  }
  // The same under a name of its own: seq.emplace_named<Conv2d>("conv1", 3, 16, 3, gen).
  template <typename M, typename... Args>
  M& emplace_named(std::string name, Args&&... args) {
    auto module = std::make_unique<M>(std::forward<Args>(args)...);
    M& ref = *module;
    append(std::move(module), std::move(name));
    return ref;
  }
  // Named by its position ("0", "1", ...) unless a name is given. A Linear with a bias followed by
  // an activation runs as one step: the activation's pass adds the bias
  // (ActivationLayer::add_bias_of), which saves the Linear its own pass over the output.
  void append(std::unique_ptr<Module> module, std::string name = "");
  // Applies to the first child: the later ones always need their input's gradient.
  void set_input_grad_needed(bool needed) override;

  std::size_t size() const { return layers_.size(); }
  Module& operator[](std::size_t index) { return *layers_.at(index); }

 protected:
  Tensor forward_impl(const Tensor& input) override;
  // Runs the children's backward last to first; each reports its own parameters' gradients.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  std::vector<std::unique_ptr<Module>> layers_;
};

}  // namespace ddp::nn
