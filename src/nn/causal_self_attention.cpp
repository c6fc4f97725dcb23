#include "ddp/nn/causal_self_attention.hpp"

#include <cmath>

#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/shape.hpp"
#include "ddp/kernels/softmax.hpp"

namespace ddp::nn {
namespace {

using kernels::Transpose;

// Positive sizes whose quotient is whole, checked before the Linears are built from them.
std::int64_t checked_dim(std::int64_t dim, std::int64_t heads) {
  DDP_CHECK_ARG(dim > 0 && heads > 0 && dim % heads == 0,
                "CausalSelfAttention(dim " << dim << ", heads " << heads
                                           << ") needs positive sizes with heads dividing dim");
  return dim;
}

}  // namespace

CausalSelfAttention::CausalSelfAttention(std::int64_t dim, std::int64_t heads, Generator& generator)
    : dim_(checked_dim(dim, heads)),
      heads_(heads),
      c_attn_(dim, 3 * dim, generator),
      c_proj_(dim, dim, generator) {
  register_module("c_attn", c_attn_);
  register_module("c_proj", c_proj_);
}

void CausalSelfAttention::set_input_grad_needed(bool needed) {
  Module::set_input_grad_needed(needed);
  c_attn_.set_input_grad_needed(needed);
}

Tensor CausalSelfAttention::forward_impl(const Tensor& input) {
  DDP_CHECK(input.ndim() == 3 && input.size(2) == dim_ && input.size(1) > 0,
            "CausalSelfAttention(dim " << dim_ << ", heads " << heads_ << ") got input "
                                       << to_string(input.shape()) << "; it takes [batch, tokens, "
                                       << dim_ << "] with at least one token");
  Frame& frame = frames_[call_index()];
  const std::int64_t batch = input.size(0);
  const std::int64_t tokens = input.size(1);
  const std::int64_t head_dim = dim_ / heads_;
  const std::int64_t matrices = batch * heads_;
  frame.batch = batch;
  frame.tokens = tokens;
  const Tensor qkv = c_attn_.forward(input);
  const Device device = qkv.device();

  // [B, T, 3, heads, head_dim] -> [3, B, heads, T, head_dim]: each head's q, k, v contiguous.
  Tensor heads = frame.qkv_heads_memory.get({3, batch, heads_, tokens, head_dim}, device);
  kernels::permute(qkv.reshape({batch, tokens, 3, heads_, head_dim}), {2, 0, 3, 1, 4}, heads);
  frame.qkv_heads = heads.reshape({3, matrices, tokens, head_dim});
  const std::int64_t part = matrices * tokens * head_dim;
  const Shape head_shape{matrices, tokens, head_dim};
  const Tensor q = heads.view(0, head_shape);
  const Tensor k = heads.view(part, head_shape);
  const Tensor v = heads.view(2 * part, head_shape);

  Tensor probs = frame.probs_memory.get({matrices, tokens, tokens}, device);
  frame.probs = probs;
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  kernels::gemm_batched(q, Transpose::no, k, Transpose::yes, probs, scale);
  kernels::causal_softmax(probs, probs);

  Tensor attended = scratch_.attended.get({batch, heads_, tokens, head_dim}, device);
  Tensor attended_matrices = attended.reshape(head_shape);
  kernels::gemm_batched(probs, Transpose::no, v, Transpose::no, attended_matrices);
  // [B, heads, T, head_dim] -> [B, T, heads, head_dim] = [B, T, dim].
  Tensor merged = frame.merged.get({batch, tokens, heads_, head_dim}, device);
  kernels::permute(attended, {0, 2, 1, 3}, merged);
  return c_proj_.forward(merged.reshape({batch, tokens, dim_}));
}

Tensor CausalSelfAttention::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  const std::int64_t batch = frame.batch;
  const std::int64_t tokens = frame.tokens;
  DDP_CHECK(batch >= 0 && grad_output.shape() == Shape({batch, tokens, dim_}),
            "CausalSelfAttention backward got grad_output "
                << to_string(grad_output.shape()) << " for a forward of "
                << to_string(Shape{batch, tokens, dim_})
                << "; call forward first, with the same batch");
  const std::int64_t head_dim = dim_ / heads_;
  const std::int64_t matrices = batch * heads_;
  const Shape head_shape{matrices, tokens, head_dim};
  const Device device = grad_output.device();

  const Tensor grad_merged = c_proj_.backward(grad_output);
  Tensor grad_attended = scratch_.grad_attended.get({batch, heads_, tokens, head_dim}, device);
  kernels::permute(grad_merged.reshape({batch, tokens, heads_, head_dim}), {0, 2, 1, 3},
                   grad_attended);
  const Tensor grad_att = grad_attended.reshape(head_shape);

  const Tensor& heads = frame.qkv_heads;
  const std::int64_t part = matrices * tokens * head_dim;
  const Tensor q = heads.view(0, head_shape);
  const Tensor k = heads.view(part, head_shape);
  const Tensor v = heads.view(2 * part, head_shape);
  const Tensor& probs = frame.probs;

  Tensor grad_heads = scratch_.grad_heads.get({3, batch, heads_, tokens, head_dim}, device);
  Tensor grad_q = grad_heads.view(0, head_shape);
  Tensor grad_k = grad_heads.view(part, head_shape);
  Tensor grad_v = grad_heads.view(2 * part, head_shape);

  // d probs = d attended v^T, d v = probs^T d attended.
  Tensor grad_probs = scratch_.grad_probs.get({matrices, tokens, tokens}, device);
  kernels::gemm_batched(grad_att, Transpose::no, v, Transpose::yes, grad_probs);
  kernels::gemm_batched(probs, Transpose::yes, grad_att, Transpose::no, grad_v);
  // Through the softmax in place: d scores, 0 where the mask was.
  Tensor grad_scores = grad_probs.reshape({matrices * tokens, tokens});
  kernels::softmax_backward_rows(probs.reshape({matrices * tokens, tokens}), grad_scores,
                                 grad_scores);
  // scores = scale q k^T: d q = scale d scores k, d k = scale d scores^T q.
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  kernels::gemm_batched(grad_probs, Transpose::no, k, Transpose::no, grad_q, scale);
  kernels::gemm_batched(grad_probs, Transpose::yes, q, Transpose::no, grad_k, scale);

  // [3, B, heads, T, head_dim] -> [B, T, 3, heads, head_dim] = c_attn's output layout.
  Tensor grad_qkv = scratch_.grad_qkv.get({batch, tokens, 3, heads_, head_dim}, device);
  kernels::permute(grad_heads, {1, 3, 0, 2, 4}, grad_qkv);
  return c_attn_.backward(grad_qkv.reshape({batch, tokens, 3 * dim_}));
}

}  // namespace ddp::nn
