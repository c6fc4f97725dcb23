#include "ddp/nn/loss.hpp"

#include "ddp/kernels/loss.hpp"

namespace ddp::nn {
namespace {

// The count a summed loss is divided by; at least 1 so that an empty batch gives 0, not NaN.
std::int64_t divisor_for(std::int64_t rows, std::int64_t normalizer) {
  DDP_CHECK(normalizer >= 0,
            "loss normalizer " << normalizer << " must be >= 0 (0: the batch's own rows)");
  const std::int64_t divisor = normalizer > 0 ? normalizer : rows;
  return divisor > 0 ? divisor : 1;
}

}  // namespace

void CrossEntropyLoss::prepare(const Tensor& prediction, const Tensor& target,
                               std::int64_t normalizer) {
  DDP_CHECK(prediction.ndim() >= 2,
            "CrossEntropyLoss needs logits [n, classes] or [n, T, classes], "
            "got "
                << to_string(prediction.shape()));
  const Shape rows_shape(prediction.shape().begin(), prediction.shape().end() - 1);
  DDP_CHECK(target.defined() && target.shape() == rows_shape,
            "CrossEntropyLoss: logits "
                << to_string(prediction.shape()) << " need targets " << to_string(rows_shape)
                << ", got "
                << (target.defined() ? to_string(target.shape()) : std::string("none")));
  const std::int64_t rows = numel(rows_shape);
  const std::int64_t classes = prediction.shape().back();
  prediction_shape_ = prediction.shape();
  target_ = target.reshape({rows});
  log_probs_ = log_probs_buffer_.get({rows, classes}, prediction.device());
  divisor_ = divisor_for(rows, normalizer);
}

float CrossEntropyLoss::forward(const Tensor& prediction, const Tensor& target,
                                std::int64_t normalizer) {
  prepare(prediction, target, normalizer);
  const double total =
      kernels::cross_entropy_forward(prediction.reshape(log_probs_.shape()), target_, log_probs_);
  return static_cast<float>(total / static_cast<double>(divisor_));
}

void CrossEntropyLoss::forward_into(const Tensor& prediction, const Tensor& target,
                                    std::int64_t normalizer, Tensor& totals) {
  prepare(prediction, target, normalizer);
  kernels::cross_entropy_forward_into(prediction.reshape(log_probs_.shape()), target_, log_probs_,
                                      1.0 / static_cast<double>(divisor_), totals);
}

Tensor CrossEntropyLoss::backward(float scale) {
  DDP_CHECK(log_probs_.defined(), "CrossEntropyLoss backward before any forward");
  Tensor grad = grad_.get(log_probs_.shape(), log_probs_.device());
  kernels::cross_entropy_backward(log_probs_, target_,
                                  static_cast<float>(scale / static_cast<double>(divisor_)), grad);
  return grad.reshape(prediction_shape_);
}

void MSELoss::prepare(const Tensor& prediction, const Tensor& target, std::int64_t normalizer) {
  DDP_CHECK(prediction.shape() == target.shape() && prediction.ndim() >= 1,
            "MSELoss needs prediction and target of one shape, got "
                << to_string(prediction.shape()) << " and " << to_string(target.shape()));
  prediction_ = prediction;
  target_ = target;
  const std::int64_t rows = prediction.size(0);
  std::int64_t per_row = 1;
  for (std::size_t d = 1; d < prediction.ndim(); ++d) per_row *= prediction.size(d);
  divisor_ = static_cast<double>(divisor_for(rows, normalizer)) *
             static_cast<double>(per_row > 0 ? per_row : 1);
}

float MSELoss::forward(const Tensor& prediction, const Tensor& target, std::int64_t normalizer) {
  prepare(prediction, target, normalizer);
  return static_cast<float>(kernels::squared_error_forward(prediction, target) / divisor_);
}

void MSELoss::forward_into(const Tensor& prediction, const Tensor& target, std::int64_t normalizer,
                           Tensor& totals) {
  prepare(prediction, target, normalizer);
  kernels::squared_error_forward_into(prediction, target, 1.0 / divisor_, totals);
}

Tensor MSELoss::backward(float scale) {
  DDP_CHECK(prediction_.defined(), "MSELoss backward before any forward");
  Tensor grad = grad_.get(prediction_.shape(), prediction_.device());
  kernels::squared_error_backward(prediction_, target_, static_cast<float>(scale / divisor_), grad);
  return grad;
}

}  // namespace ddp::nn
