// Embedding: a table of vectors looked up by integer index, with a dense gradient for the table.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/buffer.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn {

class Embedding : public Module {
 public:
  // weight [num_embeddings, embedding_dim], standard normal like nn.Embedding.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator);

  // input: int64 indices of any shape -> [..., embedding_dim].
  Tensor forward(const Tensor& input) override;
  // Adds each output row's gradient into its table row. The gradient is dense (rows not looked up
  // get 0), so DDP reduces it like any other. Returns an undefined tensor: indices have no
  // gradient.
  Tensor backward(const Tensor& grad_output) override;

  Parameter& weight() { return *weight_; }

 private:
  std::int64_t embedding_dim_;
  Parameter* weight_;
  Tensor indices_;  // the forward's input, flattened, kept by reference
  Buffer output_;
};

}  // namespace ddp::nn
