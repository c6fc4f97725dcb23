#include "ddp/nn/residual.hpp"

#include "ddp/kernels/pointwise.hpp"

namespace ddp::nn {

Residual::Residual(std::unique_ptr<Module> branch, std::unique_ptr<Module> shortcut)
    : branch_(std::move(branch)), shortcut_(std::move(shortcut)) {
  DDP_CHECK(branch_ != nullptr, "Residual needs a branch");
  register_module("branch", *branch_);
  if (shortcut_) register_module("shortcut", *shortcut_);
}

void Residual::set_input_grad_needed(bool needed) {
  Module::set_input_grad_needed(needed);
  branch_->set_input_grad_needed(needed);
  if (shortcut_) shortcut_->set_input_grad_needed(needed);
}

Tensor Residual::forward_impl(const Tensor& input) {
  const Tensor branch = branch_->forward(input);
  const Tensor shortcut = shortcut_ ? shortcut_->forward(input) : input;
  DDP_CHECK(branch.shape() == shortcut.shape(),
            "Residual: the branch gives " << to_string(branch.shape()) << " but the shortcut "
                                          << to_string(shortcut.shape())
                                          << "; give a shortcut that maps the input to the "
                                             "branch's shape");
  Tensor output = frames_[call_index()].output.get(branch.shape(), branch.device());
  kernels::add(branch, shortcut, output);
  return output;
}

Tensor Residual::backward_impl(const Tensor& grad_output) {
  const Tensor through_shortcut = shortcut_ ? shortcut_->backward(grad_output) : grad_output;
  const Tensor through_branch = branch_->backward(grad_output);
  if (!input_grad_needed()) return {};
  Tensor grad_input =
      frames_[call_index()].grad_input.get(through_branch.shape(), through_branch.device());
  kernels::add(through_branch, through_shortcut, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
