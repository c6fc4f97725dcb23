// Linear: y = x W^T + b over the last dimension, with PyTorch's default initialisation.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class Linear : public Module {
 public:
  // weight [out, in] then bias [out], both uniform in +-1/sqrt(in_features) drawn from generator
  // in that order (nn.Linear's kaiming_uniform(a=sqrt(5)) bound, the same for both).
  Linear(std::int64_t in_features, std::int64_t out_features, Generator& generator,
         bool with_bias = true);

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  Parameter& weight() { return parameter(0); }
  Parameter* bias() { return with_bias_ ? &parameter(1) : nullptr; }

  // Set by a Sequential that adds this layer's bias in the pass of the activation after it
  // (ActivationLayer::add_bias_of): forward then computes x W^T alone. Backward is unchanged.
  void set_bias_added_by_next(bool deferred) { bias_deferred_ = deferred; }

 protected:
  // input [..., in] (any leading dimensions, 0 rows included) -> [..., out].
  Tensor forward_impl(const Tensor& input) override;
  // grad bias += column sums of dy, grad weight += dy^T x, then dx = dy W.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    Tensor input;  // the forward's input as [rows, in], kept by reference (no copy)
    Workspace output;
    Workspace grad_input;
  };

  std::int64_t in_features_;
  std::int64_t out_features_;
  bool with_bias_;
  bool bias_deferred_ = false;
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
