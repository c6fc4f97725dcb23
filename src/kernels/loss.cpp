#include "ddp/kernels/loss.hpp"

#include <cmath>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "ddp/kernels/softmax.hpp"
#include "ddp/kernels/step_totals.hpp"
#include "step_verdict.hpp"

namespace ddp::kernels {
namespace {

void check_classification(const Tensor& scores, const Tensor& targets, const char* op) {
  DDP_CHECK(scores.ndim() == 2 && targets.ndim() == 1 && targets.size(0) == scores.size(0),
            op << ": logits " << ddp::to_string(scores.shape()) << " and targets "
               << ddp::to_string(targets.shape()) << " do not match; need [n, classes] and [n]");
  DDP_CHECK(targets.dtype() == DType::int64,
            op << ": targets must be int64 class indices, got " << ddp::to_string(targets.dtype()));
}

// An Error naming the first target outside [0, classes); targets are on the host.
void check_targets(const Tensor& targets, std::int64_t classes) {
  const std::int64_t* target =
      detail::data_on<std::int64_t>(targets, Device::cpu(), "cross_entropy_forward");
  for (std::int64_t r = 0; r < targets.numel(); ++r) {
    DDP_CHECK(0 <= target[r] && target[r] < classes,
              "cross-entropy target " << target[r] << " in row " << r << " is outside [0, "
                                      << classes << "); check the labels against the classes");
  }
}

void check_totals(const Tensor& totals, const Device& device, const char* op) {
  detail::check_step_totals(totals, op);
  detail::check_on(totals, device, op);
}

void add_to_loss_sum(Tensor& totals, double value) {
  totals.data<double>()[kLossSum] += value;
}

}  // namespace

double cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& log_probs) {
  check_classification(logits, targets, "cross_entropy_forward");
  detail::check_same_numel(logits, log_probs, "cross_entropy_forward");
  const std::int64_t rows = logits.size(0);
  const std::int64_t classes = logits.size(1);
  if (log_probs.device().is_cuda()) {
    // Counted on the device; read back only to name the first bad one.
    detail::check_on(targets, log_probs.device(), "cross_entropy_forward");
    if (cuda::count_outside(targets, classes) > 0)
      check_targets(targets.to(Device::cpu()), classes);
    log_softmax_rows(logits, log_probs);
    return cuda::cross_entropy_sum(log_probs, targets);
  }
  check_targets(targets, classes);
  log_softmax_rows(logits, log_probs);
  const float* lp = log_probs.data<float>();
  const std::int64_t* target = targets.data<std::int64_t>();
  double total = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) total -= lp[r * classes + target[r]];
  return total;
}

void cross_entropy_forward_into(const Tensor& logits, const Tensor& targets, Tensor& log_probs,
                                double scale, Tensor& totals) {
  check_totals(totals, log_probs.device(), "cross_entropy_forward_into");
  if (!log_probs.device().is_cuda()) {
    add_to_loss_sum(totals, scale * cross_entropy_forward(logits, targets, log_probs));
    return;
  }
  check_classification(logits, targets, "cross_entropy_forward_into");
  detail::check_same_numel(logits, log_probs, "cross_entropy_forward_into");
  detail::check_on(targets, log_probs.device(), "cross_entropy_forward_into");
  log_softmax_rows(logits, log_probs);
  cuda::cross_entropy_sum_into(log_probs, targets, scale, totals);
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, float scale,
                            Tensor& grad_logits) {
  check_classification(log_probs, targets, "cross_entropy_backward");
  detail::check_same_numel(log_probs, grad_logits, "cross_entropy_backward");
  if (grad_logits.device().is_cuda()) {
    return cuda::cross_entropy_backward(log_probs, targets, scale, grad_logits);
  }
  const std::int64_t rows = log_probs.size(0);
  const std::int64_t classes = log_probs.size(1);
  const float* lp = detail::cpu_floats(log_probs, "cross_entropy_backward");
  float* grad = detail::cpu_floats(grad_logits, "cross_entropy_backward");
  const std::int64_t* target =
      detail::data_on<std::int64_t>(targets, Device::cpu(), "cross_entropy_backward");
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < classes; ++c) {
      grad[r * classes + c] = scale * std::exp(lp[r * classes + c]);
    }
    grad[r * classes + target[r]] -= scale;
  }
}

double squared_error_forward(const Tensor& prediction, const Tensor& target) {
  detail::check_same_numel(prediction, target, "squared_error_forward");
  if (prediction.device().is_cuda()) return cuda::squared_error_forward(prediction, target);
  const float* p = detail::cpu_floats(prediction, "squared_error_forward");
  const float* t = detail::cpu_floats(target, "squared_error_forward");
  double total = 0.0;
  const std::int64_t n = prediction.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - t[i];
    total += d * d;
  }
  return total;
}

void squared_error_forward_into(const Tensor& prediction, const Tensor& target, double scale,
                                Tensor& totals) {
  check_totals(totals, prediction.device(), "squared_error_forward_into");
  if (!prediction.device().is_cuda()) {
    add_to_loss_sum(totals, scale * squared_error_forward(prediction, target));
    return;
  }
  detail::check_same_numel(prediction, target, "squared_error_forward_into");
  cuda::squared_error_sum_into(prediction, target, scale, totals);
}

void squared_error_backward(const Tensor& prediction, const Tensor& target, float scale,
                            Tensor& grad) {
  detail::check_same_numel(prediction, target, "squared_error_backward");
  detail::check_same_numel(prediction, grad, "squared_error_backward");
  if (grad.device().is_cuda()) return cuda::squared_error_backward(prediction, target, scale, grad);
  const float* p = detail::cpu_floats(prediction, "squared_error_backward");
  const float* t = detail::cpu_floats(target, "squared_error_backward");
  float* g = detail::cpu_floats(grad, "squared_error_backward");
  const float two_scale = 2.0f * scale;
  const std::int64_t n = prediction.numel();
  for (std::int64_t i = 0; i < n; ++i) g[i] = two_scale * (p[i] - t[i]);
}

}  // namespace ddp::kernels
