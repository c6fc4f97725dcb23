// Residual: y = branch(x) + shortcut(x), the shortcut the identity unless one is given (ResNet's
// downsampling blocks put a strided 1x1 convolution and a BatchNorm there). The children are
// named "branch" and "shortcut" in the state_dict.
#pragma once

#include <memory>

#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class Residual : public Module {
 public:
  // branch(x) and shortcut(x) (or x) must have one shape.
  explicit Residual(std::unique_ptr<Module> branch, std::unique_ptr<Module> shortcut = nullptr);

  // Passed on to the branch and the shortcut: without the input's gradient neither needs theirs.
  void set_input_grad_needed(bool needed) override;

  Module& branch() { return *branch_; }
  Module* shortcut() { return shortcut_.get(); }

 protected:
  // The branch runs first, then the shortcut.
  Tensor forward_impl(const Tensor& input) override;
  // The shortcut's backward first, then the branch's (the reverse of forward); dx is the sum of
  // the two paths' input gradients.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    Workspace output;
    Workspace grad_input;
  };

  std::unique_ptr<Module> branch_;
  std::unique_ptr<Module> shortcut_;  // null: the identity
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
