// GPT-2's language model as nanoGPT's model.py writes it, "gpt:layers=L,heads=H,dim=C,context=T"
// (vocab=V optional, 256: bytes): token and position embeddings, L pre-LayerNorm blocks
// (x + attn(ln_1(x)), then x + mlp(ln_2(x)) with mlp = Linear(C, 4C), GELU(tanh), Linear(4C, C)),
// a final LayerNorm and lm_head, whose weight is the token embedding's. No dropout. Parameter
// names are nanoGPT's ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", ...,
// "transformer.ln_f.bias"); lm_head.weight is tied to transformer.wte.weight and stored once.
#pragma once

#include <cstdint>
#include <memory>

#include "ddp/nn/module.hpp"

namespace ddp::models {

struct GptOptions {
  std::int64_t layers = 2;
  std::int64_t heads = 2;  // must divide dim
  std::int64_t dim = 64;
  std::int64_t context = 32;  // the longest sequence the position embedding covers
  std::int64_t vocab = 256;
  // GPT-2's initialisation drawn from Generator(seed): normal(0, 0.02) for the Linear weights and
  // both embeddings, normal(0, 0.02 / sqrt(2 * layers)) for the residual projections (attn.c_proj
  // and mlp.c_proj), biases 0, LayerNorm 1 and 0. Every rank builds the same replica.
  std::uint64_t seed = 0;
};

// forward: int64 tokens [B, T'] with 1 <= T' <= context, each in [0, vocab) -> float logits
// [B, T', vocab]. backward returns an undefined tensor (tokens have no gradient).
std::unique_ptr<nn::Module> make_gpt(const GptOptions& options);

}  // namespace ddp::models
