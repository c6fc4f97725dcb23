// Dropout: zeroes elements with probability p while training and scales the rest by 1/(1-p).
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/buffer.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn {

class Dropout : public Module {
 public:
  // seed: give each rank its own stream, derive_seed(seed, rank), or every replica drops the
  // same elements of its different data.
  Dropout(float p, std::uint64_t seed);

  // Identity in eval mode or with p = 0 (the input itself is returned, no copy).
  Tensor forward(const Tensor& input) override;
  Tensor backward(const Tensor& grad_output) override;

  float p() const { return p_; }
  // The mask stream, for checkpoints: saving and restoring its state resumes the same masks.
  Generator& generator() { return generator_; }

 private:
  float p_;
  Generator generator_;
  bool masked_ = false;  // whether the last forward applied a mask
  Tensor mask_;          // 0 or 1/(1-p) per element of the last forward
  Buffer mask_buffer_;
  Buffer output_;
  Buffer grad_input_;
};

}  // namespace ddp::nn
