// Row-wise softmax and log-softmax of a matrix, stabilised by each row's maximum as PyTorch does,
// attention's causal softmax and the softmax's backward.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// y [n, c] = softmax(x [n, c]) along each row; y may be x.
void softmax_rows(const Tensor& x, Tensor& y);

// y [n, c] = log_softmax(x [n, c]) along each row, as x - max - log(sum(exp(x - max))) in that
// order (PyTorch's, which keeps large inputs exact); y may be x.
void log_softmax_rows(const Tensor& x, Tensor& y);

// Attention's masked softmax: x [n, t, t] holds n square score matrices; row i of each is the
// softmax of its columns 0..i (a query sees itself and the keys before it), and its columns past i
// are 0 in y. y may be x.
void causal_softmax(const Tensor& x, Tensor& y);

// The softmax's backward along each row: dx = y * (dy - sum(dy * y)) for y = softmax(x) [n, c]
// (causal_softmax's too, whose masked entries are 0 in y and so in dx). dx may be dy.
void softmax_backward_rows(const Tensor& y, const Tensor& dy, Tensor& dx);

}  // namespace ddp::kernels
