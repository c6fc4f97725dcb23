// Dropout: zeroes elements with probability p while training and scales the rest by 1/(1-p).
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class Dropout : public Module {
 public:
  // seed: give each rank its own stream, derive_seed(seed, rank), or every replica drops the
  // same elements of its different data.
  Dropout(float p, std::uint64_t seed);

  float p() const { return p_; }
  // The mask stream, for checkpoints: saving and restoring its state resumes the same masks.
  Generator& generator() { return generator_; }

 protected:
  // Identity in eval mode or with p = 0 (the input itself is returned, no copy).
  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    bool masked = false;  // whether the forward applied a mask
    Tensor mask;          // 0 or 1/(1-p) per element of the forward
    Workspace mask_memory;
    Workspace output;
    Workspace grad_input;
  };

  float p_;
  Generator generator_;
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
