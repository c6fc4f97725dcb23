// LayerNorm: nn.LayerNorm(dim) over the last dimension, with an affine weight (1) and bias (0).
#pragma once

#include <cstdint>

#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class LayerNorm : public Module {
 public:
  // Parameters "weight" [dim] = 1 and "bias" [dim] = 0; eps is added to the biased variance.
  explicit LayerNorm(std::int64_t dim, double eps = 1e-5);

  std::int64_t dim() const { return dim_; }
  double eps() const { return eps_; }
  Parameter& weight() { return parameter(0); }
  Parameter& bias() { return parameter(1); }

 protected:
  // input [..., dim] (any leading dimensions, 0 rows included) -> the same shape, each row
  // normalised by its own mean and variance.
  Tensor forward_impl(const Tensor& input) override;
  // grad bias += column sums of dy, grad weight += column sums of dy * xhat, then dx through the
  // rows' statistics.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  // What backward reads: the input (by reference, no copy) and each row's mean and 1 / std, two
  // floats a row; the normalised input is recomputed from them rather than kept.
  struct Frame {
    Tensor input;  // [rows, dim]
    Tensor stats;  // [rows, 2]: mean, rstd; a view of stats_memory
    Workspace stats_memory;
    Workspace output;
    Workspace grad_input;
  };

  std::int64_t dim_;
  double eps_;
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
