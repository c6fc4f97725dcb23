// CausalSelfAttention: GPT-2's multi-head self-attention with a causal mask, as nanoGPT's module
// of the same name (no dropout): c_attn projects x to q, k and v, each head attends over the
// positions up to its own, c_proj mixes the heads.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

class CausalSelfAttention : public Module {
 public:
  // Children "c_attn" = Linear(dim, 3 dim) (its outputs q, then k, then v) and "c_proj" =
  // Linear(dim, dim), both with bias and initialised from generator in that order; heads of dim /
  // heads, which must divide dim.
  CausalSelfAttention(std::int64_t dim, std::int64_t heads, Generator& generator);

  std::int64_t dim() const { return dim_; }
  std::int64_t heads() const { return heads_; }
  Linear& c_attn() { return c_attn_; }
  Linear& c_proj() { return c_proj_; }

  void set_input_grad_needed(bool needed) override;

 protected:
  // input [B, T, dim] (B >= 0, T >= 1) -> [B, T, dim]: per head, softmax(q k^T / sqrt(dim /
  // heads)) over the keys at or before each query, times v; the heads side by side into c_proj.
  // Each product of heads is one batched GEMM.
  Tensor forward_impl(const Tensor& input) override;
  // Through c_proj, the heads' GEMMs, the softmax and c_attn, in reverse; the Linears report their
  // gradients.
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  // What one call keeps for its backward, besides what c_attn and c_proj keep (their inputs):
  // q, k and v per head (3 B T dim floats) and the attention probabilities (B heads T^2 floats).
  struct Frame {
    std::int64_t batch = -1;  // B and T of the call's input; -1 before its forward
    std::int64_t tokens = 0;
    Tensor qkv_heads;  // [3, B heads, T, dim / heads]: a view of qkv_heads_memory
    Tensor probs;      // [B heads, T, T], 0 above the diagonal: a view of probs_memory
    Workspace qkv_heads_memory;
    Workspace probs_memory;
    Workspace merged;  // [B, T, dim]: the heads' outputs, c_proj's input
  };
  // Memory a forward or backward uses only while it runs, shared by the calls.
  struct Scratch {
    Workspace attended;       // [B, heads, T, dim / heads]
    Workspace grad_attended;  // the same
    Workspace grad_probs;     // [B heads, T, T]
    Workspace grad_heads;     // [3, B heads, T, dim / heads]
    Workspace grad_qkv;       // [B, T, 3 dim]
  };

  std::int64_t dim_;
  std::int64_t heads_;
  Linear c_attn_;
  Linear c_proj_;
  CallFrames<Frame> frames_;
  Scratch scratch_;
};

}  // namespace ddp::nn
