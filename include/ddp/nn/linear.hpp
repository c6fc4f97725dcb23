// Linear: y = x W^T + b over the last dimension, with PyTorch's default initialisation.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/buffer.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn {

class Linear : public Module {
 public:
  // weight [out, in] then bias [out], both uniform in +-1/sqrt(in_features) drawn from generator
  // in that order (nn.Linear's kaiming_uniform(a=sqrt(5)) bound, the same for both).
  Linear(std::int64_t in_features, std::int64_t out_features, Generator& generator,
         bool with_bias = true);

  // input [..., in] (any leading dimensions, 0 rows included) -> [..., out].
  Tensor forward(const Tensor& input) override;
  // x W^T alone, for a caller that adds the bias in a pass of its own (Sequential fuses it with
  // the activation after this layer); backward is the same as after forward.
  Tensor forward_without_bias(const Tensor& input);
  // grad bias += column sums of dy, grad weight += dy^T x (unless a gradient sink takes them),
  // then dx = dy W.
  Tensor backward(const Tensor& grad_output) override;
  void set_linear_gradient_sink(LinearGradientSink* sink) override;

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  Parameter& weight() { return *weight_; }
  Parameter* bias() { return bias_; }  // null without a bias

 private:
  Tensor affine(const Tensor& input, bool add_bias);

  std::int64_t in_features_;
  std::int64_t out_features_;
  Parameter* weight_;
  Parameter* bias_ = nullptr;
  Tensor input_;  // the forward's input, kept by reference (no copy) for grad weight
  Buffer output_;
  Buffer grad_input_;
  LinearGradientSink* gradient_sink_ = nullptr;
};

}  // namespace ddp::nn
