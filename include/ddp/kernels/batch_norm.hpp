// Batch normalisation's per-channel math (BatchNorm1d/2d, SyncBatchNorm): statistics, normalising,
// running statistics and backward. x is [N, C, ...] (C channels at dimension 1, any spatial
// dimensions after); every per-channel tensor below has C columns. Sums are float64 so that a
// large batch keeps its precision and ranks can add theirs (SyncBatchNorm all-reduces them).
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// stats [3, C] float64 = per channel: sum of x, sum of x^2, element count (N times the spatial
// size, 0 for an empty batch).
void batch_norm_statistics(const Tensor& x, Tensor& stats);

// moments [2, C] float32 = per channel: mean, 1 / sqrt(var + eps), var the biased variance of
// stats (count > 0).
void batch_norm_moments(const Tensor& stats, double eps, Tensor& moments);

// The same from the running statistics [C] (eval mode).
void batch_norm_running_moments(const Tensor& running_mean, const Tensor& running_var, double eps,
                                Tensor& moments);

// running = (1 - momentum) running + momentum * batch, for the mean and the unbiased variance of
// stats (count > 1; a channel of count 0, an empty batch, keeps its running statistics), and
// num_batches_tracked (int64, one element) += 1: PyTorch's update, all on the tensors' device.
void batch_norm_update_running(const Tensor& stats, double momentum, Tensor& running_mean,
                               Tensor& running_var, Tensor& num_batches_tracked);

// y = (x - mean) * invstd * weight + bias, per channel (weight, bias [C] float32).
void batch_norm_forward(const Tensor& x, const Tensor& moments, const Tensor& weight,
                        const Tensor& bias, Tensor& y);

// grad_sums [2, C] float64 = per channel: sum of dy, sum of dy * xhat with xhat = (x - mean) *
// invstd: the bias's and the weight's gradients, and what dx needs.
void batch_norm_backward_sums(const Tensor& x, const Tensor& dy, const Tensor& moments,
                              Tensor& grad_sums);

// grad_bias = (accumulate_bias ? grad_bias : 0) + sum of dy, grad_weight likewise with the sum
// of dy * xhat, from grad_sums.
void batch_norm_parameter_grads(const Tensor& grad_sums, Tensor& grad_weight,
                                bool accumulate_weight, Tensor& grad_bias, bool accumulate_bias);

// Training (the statistics are functions of x over count elements per channel, grad_sums over the
// same elements): dx = weight * invstd * (dy - (sum dy + xhat * sum dy xhat) / count).
void batch_norm_backward_input(const Tensor& x, const Tensor& dy, const Tensor& moments,
                               const Tensor& weight, const Tensor& grad_sums, double count,
                               Tensor& dx);

// Eval (the statistics are constants): dx = weight * invstd * dy.
void batch_norm_backward_input_eval(const Tensor& dy, const Tensor& moments, const Tensor& weight,
                                    Tensor& dx);

}  // namespace ddp::kernels
