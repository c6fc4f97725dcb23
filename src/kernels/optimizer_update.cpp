#include "ddp/kernels/optimizer_update.hpp"

#include <cmath>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdUpdate& rule) {
  if (param.device().is_cuda()) return cuda::sgd_update(param, grad, momentum_buffer, rule);
  detail::check_same_numel(param, grad, "sgd_update");
  if (rule.skip != nullptr && *rule.skip != 0.0f) return;
  float* p = detail::cpu_floats(param, "sgd_update");
  const float* g = detail::cpu_floats(grad, "sgd_update");
  const std::int64_t n = param.numel();
  const float wd = static_cast<float>(rule.weight_decay);
  const float neg_lr = static_cast<float>(-rule.lr);
  if (rule.momentum == 0.0) {
    for (std::int64_t i = 0; i < n; ++i) p[i] += neg_lr * (g[i] + wd * p[i]);
    return;
  }
  detail::check_same_numel(param, momentum_buffer, "sgd_update");
  float* buf = detail::cpu_floats(momentum_buffer, "sgd_update");
  const float momentum = static_cast<float>(rule.momentum);
  const float keep = static_cast<float>(1.0 - rule.dampening);
  const bool first = rule.first_step;
  const bool nesterov = rule.nesterov;
  // One pass over param, grad and buffer (the step is memory bound); the branches are loop
  // invariant, so the compiler unswitches them into straight vectorised loops.
  for (std::int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * p[i];
    const float b = first ? d : buf[i] * momentum + keep * d;
    buf[i] = b;
    p[i] += neg_lr * (nesterov ? d + momentum * b : b);
  }
}

void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamwUpdate& rule) {
  if (param.device().is_cuda()) return cuda::adamw_update(param, grad, exp_avg, exp_avg_sq, rule);
  detail::check_same_numel(param, grad, "adamw_update");
  detail::check_same_numel(param, exp_avg, "adamw_update");
  detail::check_same_numel(param, exp_avg_sq, "adamw_update");
  DDP_CHECK(rule.step >= 1, "adamw_update step " << rule.step << " must count from 1");
  if (rule.skip != nullptr && *rule.skip != 0.0f) return;
  float* p = detail::cpu_floats(param, "adamw_update");
  const float* g = detail::cpu_floats(grad, "adamw_update");
  float* m = detail::cpu_floats(exp_avg, "adamw_update");
  float* v = detail::cpu_floats(exp_avg_sq, "adamw_update");
  // The scalars in double, as PyTorch's Python computes them, each rounded once to float.
  const double step = static_cast<double>(rule.step);
  const float decay = static_cast<float>(1.0 - rule.lr * rule.weight_decay);
  const float beta1 = static_cast<float>(rule.beta1);
  const float beta2 = static_cast<float>(rule.beta2);
  const float one_minus_beta1 = static_cast<float>(1.0 - rule.beta1);
  const float one_minus_beta2 = static_cast<float>(1.0 - rule.beta2);
  const double correction1 = 1.0 - std::pow(rule.beta1, step);
  const double correction2 = 1.0 - std::pow(rule.beta2, step);
  const float neg_step_size = static_cast<float>(-(rule.lr / correction1));
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float eps = static_cast<float>(rule.eps);
  const std::int64_t n = param.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    p[i] *= decay;
    m[i] = m[i] * beta1 + one_minus_beta1 * g[i];
    v[i] = v[i] * beta2 + one_minus_beta2 * g[i] * g[i];
    const float denom = std::sqrt(v[i]) / correction2_sqrt + eps;
    p[i] += neg_step_size * m[i] / denom;
  }
}

}  // namespace ddp::kernels
