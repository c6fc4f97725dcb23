// Two small models whose weights are used twice in a forward, for the tests of tied parameters,
// per-call frames and the reducer (unit, mpi, gpu and pytorch tests build them alike).
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"

namespace ddp::testing_models {

// A language model's ends in miniature: tokens -> wte -> `mixes` times tanh(mix(x)), one Linear run
// each time -> tanh -> lm_head, whose weight is wte's (GPT-2's tied output layer) or, untied, a
// copy of it to start from. Parameters: wte.weight, then mix.weight and mix.bias when mixes > 0.
class TiedLanguageModel : public nn::Module {
 public:
  TiedLanguageModel(std::int64_t vocab, std::int64_t width, int mixes, bool tied,
                    std::uint64_t seed)
      : generator_(seed),
        mixes_(mixes),
        wte_(vocab, width, generator_),
        mix_(width, width, generator_),
        lm_head_(width, vocab, generator_, false) {
    register_module("wte", wte_);
    if (mixes_ > 0) register_module("mix", mix_);
    register_module("act", act_);
    register_module("lm_head", lm_head_);
    lm_head_.weight().value.copy_(wte_.weight().value);
    if (tied) lm_head_.tie_parameter("weight", wte_, "weight");
  }
  nn::Embedding& wte() { return wte_; }
  nn::Linear& lm_head() { return lm_head_; }

 protected:
  Tensor forward_impl(const Tensor& tokens) override {
    Tensor x = wte_.forward(tokens);
    for (int i = 0; i < mixes_; ++i) x = act_.forward(mix_.forward(x));
    return lm_head_.forward(act_.forward(x));
  }
  Tensor backward_impl(const Tensor& grad_output) override {
    Tensor dx = act_.backward(lm_head_.backward(grad_output));
    for (int i = 0; i < mixes_; ++i) dx = mix_.backward(act_.backward(dx));
    return wte_.backward(dx);
  }

 private:
  Generator generator_;
  int mixes_;
  nn::Embedding wte_;
  nn::Linear mix_;
  nn::Tanh act_;
  nn::Linear lm_head_;
};

// x -> layer(tanh(layer(x))): one square Linear run twice in every forward.
class TwiceApplied : public nn::Module {
 public:
  TwiceApplied(std::int64_t features, std::uint64_t seed)
      : generator_(seed), layer_(features, features, generator_) {
    register_module("layer", layer_);
    register_module("act", act_);
  }

 protected:
  Tensor forward_impl(const Tensor& x) override {
    return layer_.forward(act_.forward(layer_.forward(x)));
  }
  Tensor backward_impl(const Tensor& dy) override {
    return layer_.backward(act_.backward(layer_.backward(dy)));
  }

 private:
  Generator generator_;
  nn::Linear layer_;
  nn::Tanh act_;
};

}  // namespace ddp::testing_models
