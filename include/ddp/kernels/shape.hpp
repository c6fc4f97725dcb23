// Shape operations that move elements between layouts: permuting dimensions (attention heads,
// channels-last), concatenating and splitting along one dimension (q, k and v in one tensor).
// Any dtype: elements are moved by their size, never converted, so the results are bit-exact on
// every device. Outputs are pre-shaped by the caller and checked; they must not overlap the inputs.
// Dimensions are 0-based and non-negative (no Python-style negative dims). Each is linear, so its
// backward is another of them: permute's is permute by the inverse permutation, and concat and
// split are each other's.
#pragma once

#include <vector>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// y = x.permute(dims).contiguous(): x [s_0, .., s_n-1] to y [s_dims[0], .., s_dims[n-1]], y
// pre-shaped, same dtype; dims a permutation of 0..n-1, n <= 8.
void permute(const Tensor& x, const std::vector<int>& dims, Tensor& y);

// out = torch.cat(inputs, dim): inputs [.., k_i, ..] equal but along dim and in dtype, out
// [.., sum k_i, ..] pre-shaped; parts of size 0 allowed. Copies: along dim 0, views of out's rows
// (Tensor::rows) avoid the copy when the producers can write into them.
void concat(const std::vector<Tensor>& inputs, int dim, Tensor& out);

// The inverse of concat: x [.., sum k_i, ..] into outputs [.., k_i, ..], pre-shaped, equal to x but
// along dim and in dtype, their sizes along dim summing to x's. Copies: along dim 0, x.rows(..)
// gives the parts as views.
void split(const Tensor& x, int dim, std::vector<Tensor>& outputs);

}  // namespace ddp::kernels
