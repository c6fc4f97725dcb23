// The math of the losses: row-wise log-softmax with cross-entropy, and squared error; each returns
// the sum over rows, so that the caller chooses the normaliser (local rows, or the global batch).
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// log_probs [n, c] = log_softmax(logits [n, c]) by rows; returns sum_i -log_probs[i, targets[i]].
// targets: int64 [n], each in [0, c).
double cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& log_probs);

// grad_logits = scale * (softmax(logits) - one_hot(targets)), from the log_probs of the forward.
void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, float scale,
                            Tensor& grad_logits);

// sum of (prediction - target)^2 over all elements.
double squared_error_forward(const Tensor& prediction, const Tensor& target);

// The forwards without a value for the host: scale * the sum is added to totals[kLossSum]
// (step_totals.hpp, on the tensors' device), so that a GPU step need not wait for it. On a GPU a
// target outside [0, c) adds to totals[kBadTargets] and nothing to the loss, for the reader of the
// totals to report; on the CPU it is an Error at once, as in cross_entropy_forward.
void cross_entropy_forward_into(const Tensor& logits, const Tensor& targets, Tensor& log_probs,
                                double scale, Tensor& totals);
void squared_error_forward_into(const Tensor& prediction, const Tensor& target, double scale,
                                Tensor& totals);

// grad = scale * 2 * (prediction - target).
void squared_error_backward(const Tensor& prediction, const Tensor& target, float scale,
                            Tensor& grad);

}  // namespace ddp::kernels
