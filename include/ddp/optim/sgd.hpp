// SGD with momentum, dampening, Nesterov and weight decay: torch.optim.SGD's update rule.
#pragma once

#include "ddp/optim/optimizer.hpp"

namespace ddp::optim {

struct SgdOptions {
  double lr = 0.01;           // step size
  double momentum = 0.0;      // 0 keeps no buffer; 0.9 is the usual choice
  double dampening = 0.0;     // share of each new gradient held back from the buffer (after step 1)
  double weight_decay = 0.0;  // L2 penalty, added to the gradient before momentum
  bool nesterov = false;      // needs momentum > 0 and dampening 0, as in PyTorch
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<nn::Parameter*> params, const SgdOptions& options);
  // Each group's weight decay where it has one, options.weight_decay elsewhere.
  Sgd(std::vector<ParamGroup> groups, const SgdOptions& options);

  void step() override;
  // "momentum_buffer/<name>" for each parameter that has taken a step with momentum.
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& state) override;

  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined until the parameter's first step
};

}  // namespace ddp::optim
