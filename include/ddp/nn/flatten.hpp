// Flatten: [N, d1, d2, ...] -> [N, d1 * d2 * ...] (nn.Flatten's default, start_dim 1), a view:
// nothing is copied either way.
#pragma once

#include "ddp/nn/module.hpp"

namespace ddp::nn {

class Flatten : public Module {
 protected:
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  CallFrames<Shape> input_shapes_;  // per call: what backward reshapes the gradient back to
};

}  // namespace ddp::nn
