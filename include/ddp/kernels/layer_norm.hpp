// Layer normalisation's math (nn.LayerNorm over the last dimension): each row of x [rows, dim] is
// normalised by its own mean and biased variance, then scaled and shifted per column.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// y = (x - mean) * rstd * weight + bias per row of x [rows, dim] (weight, bias [dim]; y may not be
// x), and stats [rows, 2] = each row's mean and rstd = 1 / sqrt(var + eps), var biased: what the
// backward reads. rows may be 0.
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                        Tensor& y, Tensor& stats);

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) per row, g = dy * weight, xhat = (x - mean) *
// rstd: the gradient through the row's own statistics.
void layer_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& stats,
                               const Tensor& weight, Tensor& dx);

// grad_weight = (accumulate_weight ? grad_weight : 0) + the column sums of dy * xhat, grad_bias
// likewise with the column sums of dy (0 rows: zeros, or unchanged when accumulating).
void layer_norm_parameter_grads(const Tensor& x, const Tensor& dy, const Tensor& stats,
                                Tensor& grad_weight, bool accumulate_weight, Tensor& grad_bias,
                                bool accumulate_bias);

}  // namespace ddp::kernels
