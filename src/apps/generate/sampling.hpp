// Text from a language model, a token at a time: the model reads the last `context` tokens and
// the next token is drawn from its last position's logits, as nanoGPT's generate() does.
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::generate {

struct SamplingOptions {
  double temperature = 1.0;  // logits divided by it; > 0 (below 1 sharper, above 1 flatter)
  std::int64_t top_k = 0;    // draw among the k likeliest tokens only; 0: among all
};

// The token drawn from logits [vocab] (host float32): softmax(logits / temperature) restricted to
// the top_k largest logits (ties with the k-th kept, as nanoGPT's `logits < v[-1]` mask does), one
// uniform draw of generator against the cumulative probabilities. top_k 1 is the argmax.
std::int64_t sample_token(const float* logits, std::int64_t vocab, const SamplingOptions& options,
                          Generator& generator);

// prompt followed by `count` tokens from model (eval mode, host), each drawn from the logits of
// the last position of the last `context` tokens; returns only the new tokens. prompt must not be
// empty.
std::vector<std::int64_t> generate_tokens(nn::Module& model, std::int64_t context,
                                          std::vector<std::int64_t> prompt, std::int64_t count,
                                          const SamplingOptions& options, Generator& generator);

}  // namespace ddp::generate
