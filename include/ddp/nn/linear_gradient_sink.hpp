// LinearGradientSink: what may take a Linear layer's parameter gradients over from its backward.
// DDP's LinearShards does, to compute each rank's shard of them from every rank's inputs and
// output gradients instead of summing whole gradients.
#pragma once

#include "ddp/core/tensor.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn {

class LinearGradientSink {
 public:
  virtual ~LinearGradientSink() = default;

  // Once per Linear layer the sink is installed on (Module::set_linear_gradient_sink).
  virtual void attach(Parameter& weight, Parameter* bias) = 0;
  // In the layer's backward, in place of accumulating and reporting its gradients: true takes
  // them over (the layer then neither writes nor reports them), false leaves them to the layer.
  // grad_output [rows, out] and input [rows, in] are the layer's, valid until its next forward.
  virtual bool take(Parameter& weight, const Tensor& grad_output, const Tensor& input) = 0;
};

}  // namespace ddp::nn
