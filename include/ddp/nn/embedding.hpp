// Embedding: a table of vectors looked up by integer index, with a dense gradient for the table.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class Embedding : public Module {
 public:
  // weight [num_embeddings, embedding_dim], standard normal like nn.Embedding.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator);

  Parameter& weight() { return parameter(0); }

 protected:
  // input: int64 indices of any shape -> [..., embedding_dim].
  Tensor forward_impl(const Tensor& input) override;
  // Adds each output row's gradient into its table row. The gradient is dense (rows not looked up
  // get 0), so DDP reduces it like any other. Returns an undefined tensor: indices have no
  // gradient.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    Tensor indices;  // the forward's input, flattened, kept by reference
    Workspace output;
  };

  std::int64_t embedding_dim_;
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
