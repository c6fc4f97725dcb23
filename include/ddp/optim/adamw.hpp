// AdamW: Adam with decoupled weight decay and bias correction, torch.optim.AdamW's update rule.
#pragma once

#include <cstdint>

#include "ddp/optim/optimizer.hpp"

namespace ddp::optim {

struct AdamwOptions {
  double lr = 1e-3;            // step size before bias correction
  double beta1 = 0.9;          // decay of the gradient's running mean
  double beta2 = 0.999;        // decay of the squared gradient's running mean
  double eps = 1e-8;           // keeps the denominator away from 0
  double weight_decay = 1e-2;  // decoupled: param *= 1 - lr * weight_decay each step
};

class Adamw : public Optimizer {
 public:
  Adamw(std::vector<nn::Parameter*> params, const AdamwOptions& options);
  // Each group's weight decay where it has one, options.weight_decay elsewhere.
  Adamw(std::vector<ParamGroup> groups, const AdamwOptions& options);

  void step() override;
  // "exp_avg/<name>", "exp_avg_sq/<name>" and "step/<name>" (int64 [1]) per parameter that has
  // taken a step; steps are counted per parameter, as PyTorch does.
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& state) override;

  const AdamwOptions& options() const { return options_; }

 private:
  AdamwOptions options_;
  std::vector<Tensor> exp_avg_;
  std::vector<Tensor> exp_avg_sq_;
  std::vector<std::int64_t> steps_;
};

}  // namespace ddp::optim
