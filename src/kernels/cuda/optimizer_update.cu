// Fused SGD and AdamW steps on CUDA tensors, one pass each, in the CPU kernels' order of float
// operations with every multiply, add, divide and root rounded on its own (the _rn intrinsics are
// never contracted into FMAs), so that a step on the GPU gives the CPU's bits.
#include <cmath>
#include <cstdint>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

struct SgdScalars {
  float weight_decay;
  float neg_lr;
  float momentum;
  float keep;  // 1 - dampening
  bool has_momentum;
  bool first;
  bool nesterov;
};

struct AdamwScalars {
  float decay;  // 1 - lr * weight_decay
  float beta1;
  float beta2;
  float one_minus_beta1;
  float one_minus_beta2;
  float neg_step_size;
  float correction2_sqrt;
  float eps;
};

__global__ void sgd_kernel(float* p, const float* g, float* buf, std::int64_t n, SgdScalars s,
                           const float* skip) {
  if (skip != nullptr && *skip != 0.0f) return;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float d = __fadd_rn(g[i], __fmul_rn(s.weight_decay, p[i]));
    float step = d;
    if (s.has_momentum) {
      const float b = s.first ? d : __fadd_rn(__fmul_rn(buf[i], s.momentum), __fmul_rn(s.keep, d));
      buf[i] = b;
      step = s.nesterov ? __fadd_rn(d, __fmul_rn(s.momentum, b)) : b;
    }
    p[i] = __fadd_rn(p[i], __fmul_rn(s.neg_lr, step));
  }
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, std::int64_t n,
                             AdamwScalars s, const float* skip) {
  if (skip != nullptr && *skip != 0.0f) return;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float gi = g[i];
    const float pi = __fmul_rn(p[i], s.decay);
    const float mi = __fadd_rn(__fmul_rn(m[i], s.beta1), __fmul_rn(s.one_minus_beta1, gi));
    const float vi =
        __fadd_rn(__fmul_rn(v[i], s.beta2), __fmul_rn(__fmul_rn(s.one_minus_beta2, gi), gi));
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), s.correction2_sqrt), s.eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = __fadd_rn(pi, __fdiv_rn(__fmul_rn(s.neg_step_size, mi), denom));
  }
}

}  // namespace

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdUpdate& rule) {
  const Device device = param.device();
  detail::check_same_numel(param, grad, "sgd_update");
  float* p = detail::data_on<float>(param, device, "sgd_update");
  const float* g = detail::data_on<float>(grad, device, "sgd_update");
  float* buf = nullptr;
  if (rule.momentum != 0.0) {
    detail::check_same_numel(param, momentum_buffer, "sgd_update");
    buf = detail::data_on<float>(momentum_buffer, device, "sgd_update");
  }
  const std::int64_t n = param.numel();
  if (n == 0) return;
  SgdScalars s{static_cast<float>(rule.weight_decay),
               static_cast<float>(-rule.lr),
               static_cast<float>(rule.momentum),
               static_cast<float>(1.0 - rule.dampening),
               rule.momentum != 0.0,
               rule.first_step,
               rule.nesterov};
  DeviceGuard guard(device.index);
  sgd_kernel<<<blocks_for(n), kThreads, 0, stream(device.index)>>>(p, g, buf, n, s, rule.skip);
  DDP_CUDA_CHECK(cudaGetLastError());
}

void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamwUpdate& rule) {
  const Device device = param.device();
  detail::check_same_numel(param, grad, "adamw_update");
  detail::check_same_numel(param, exp_avg, "adamw_update");
  detail::check_same_numel(param, exp_avg_sq, "adamw_update");
  DDP_CHECK(rule.step >= 1, "adamw_update step " << rule.step << " must count from 1");
  float* p = detail::data_on<float>(param, device, "adamw_update");
  const float* g = detail::data_on<float>(grad, device, "adamw_update");
  float* m = detail::data_on<float>(exp_avg, device, "adamw_update");
  float* v = detail::data_on<float>(exp_avg_sq, device, "adamw_update");
  const std::int64_t n = param.numel();
  if (n == 0) return;
  // The scalars on the host in double, exactly as the CPU kernel computes them.
  const double step = static_cast<double>(rule.step);
  const double correction1 = 1.0 - std::pow(rule.beta1, step);
  const double correction2 = 1.0 - std::pow(rule.beta2, step);
  AdamwScalars s{static_cast<float>(1.0 - rule.lr * rule.weight_decay),
                 static_cast<float>(rule.beta1),
                 static_cast<float>(rule.beta2),
                 static_cast<float>(1.0 - rule.beta1),
                 static_cast<float>(1.0 - rule.beta2),
                 static_cast<float>(-(rule.lr / correction1)),
                 static_cast<float>(std::sqrt(correction2)),
                 static_cast<float>(rule.eps)};
  DeviceGuard guard(device.index);
  adamw_kernel<<<blocks_for(n), kThreads, 0, stream(device.index)>>>(p, g, m, v, n, s, rule.skip);
  DDP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ddp::kernels::cuda
