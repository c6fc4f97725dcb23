// Optimizer: updates parameters from their gradients; the base of SGD and AdamW, with the state a
// checkpoint saves as named tensors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ddp/core/named_tensor.hpp"
#include "ddp/core/tensor.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::optim {

// Parameters that take their own options, as one of torch's param_groups: here their weight decay
// (nanoGPT decays matrices and embeddings, not biases or LayerNorm weights).
struct ParamGroup {
  std::vector<nn::Parameter*> params;
  std::optional<double> weight_decay;  // nothing: the optimizer's options say
};

class Optimizer {
 public:
  // params: typically model.parameters(); they must outlive the optimizer. One group.
  Optimizer(std::vector<nn::Parameter*> params, double lr);
  // The groups' parameters in group order; a parameter in two groups is an InvalidArgument.
  Optimizer(std::vector<ParamGroup> groups, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient; parameters without one are left alone,
  // as PyTorch skips those whose grad is None.
  virtual void step() = 0;
  // Marks every gradient absent, like zero_grad(set_to_none=True).
  void zero_grad();

  double lr() const { return lr_; }
  // For schedules: the lr the next step() uses.
  void set_lr(double lr);

  // One float32 on the parameters' device; a step() runs as a no-op where it holds a nonzero value
  // when the step reaches the device. A verdict taken there (non-finite gradients) thus skips the
  // step without the host waiting for it. Such a skipped step still counts in AdamW's bias
  // correction, and SGD's momentum then starts from a zero buffer. Undefined: every step updates.
  void set_skip_flag(Tensor flag) { skip_flag_ = std::move(flag); }

  // Copies of the per-parameter buffers on the host, each named "<buffer>/<parameter name>"
  // ("momentum_buffer/0.weight"), for checkpoints, wherever the parameters
  // live; load_state checks names and shapes and puts each buffer on its parameter's device.
  virtual std::vector<NamedTensor> state() const = 0;
  virtual void load_state(const std::vector<NamedTensor>& state) = 0;

  const std::vector<nn::Parameter*>& parameters() const { return params_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

 protected:
  // The weight decay of parameter i (in parameters()): its group's, or fallback.
  double weight_decay_of(std::size_t i, double fallback) const {
    return groups_[group_of_[i]].weight_decay.value_or(fallback);
  }

  // The index of the parameter named by buffer_name ("<prefix>/<parameter name>"), or an Error.
  std::size_t parameter_index(const std::string& buffer_name, const std::string& prefix) const;
  // parameter_index, also checking that tensor has that parameter's shape.
  std::size_t shaped_parameter_index(const std::string& buffer_name, const std::string& prefix,
                                     const Tensor& tensor) const;

  // A copy of t on device (a clone when t is already there): state() to the host, load_state to
  // the parameters' device.
  static Tensor copy_on(const Tensor& t, const Device& device);

  // The kernels' form of the skip flag: its float, or nullptr.
  const float* skip_flag() const {
    return skip_flag_.defined() ? static_cast<const float*>(skip_flag_.data_ptr()) : nullptr;
  }

  std::vector<nn::Parameter*> params_;
  std::vector<ParamGroup> groups_;
  std::vector<std::size_t> group_of_;  // per parameter, its group
  double lr_;
  Tensor skip_flag_;
};

}  // namespace ddp::optim
