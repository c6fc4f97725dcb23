// Cross-entropy over log-softmax and squared error on CUDA tensors. The forwards add up on the
// device in double and bring back one value, like the CPU kernels' double sums.
#include "cuda_kernels.hpp"
#include "reduce.cuh"

namespace ddp::kernels::cuda {

double cross_entropy_sum(const Tensor& log_probs, const Tensor& targets) {
  const Device device = log_probs.device();
  const std::int64_t* target =
      detail::data_on<std::int64_t>(targets, device, "cross_entropy_forward");
  const float* lp = log_probs.data<float>();
  const std::int64_t classes = log_probs.size(1);
  return reduce_sum<double>(device, log_probs.size(0), [=] __device__(std::int64_t r) {
    return -static_cast<double>(lp[r * classes + target[r]]);
  });
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, float scale,
                            Tensor& grad_logits) {
  const Device device = grad_logits.device();
  const float* lp = detail::data_on<float>(log_probs, device, "cross_entropy_backward");
  const std::int64_t* target =
      detail::data_on<std::int64_t>(targets, device, "cross_entropy_backward");
  float* grad = detail::data_on<float>(grad_logits, device, "cross_entropy_backward");
  const std::int64_t classes = log_probs.size(1);
  for_each_index(device, grad_logits.numel(), [=] __device__(std::int64_t i) {
    // __fmul_rn: rounded before the subtraction, as on the CPU, not fused into an FMA.
    const float g = __fmul_rn(scale, expf(lp[i]));
    grad[i] = i % classes == target[i / classes] ? g - scale : g;
  });
}

double squared_error_forward(const Tensor& prediction, const Tensor& target) {
  const Device device = prediction.device();
  const float* p = detail::data_on<float>(prediction, device, "squared_error_forward");
  const float* t = detail::data_on<float>(target, device, "squared_error_forward");
  return reduce_sum<double>(device, prediction.numel(), [=] __device__(std::int64_t i) {
    const double d = static_cast<double>(p[i]) - t[i];
    return d * d;
  });
}

void squared_error_backward(const Tensor& prediction, const Tensor& target, float scale,
                            Tensor& grad) {
  const Device device = grad.device();
  const float* p = detail::data_on<float>(prediction, device, "squared_error_backward");
  const float* t = detail::data_on<float>(target, device, "squared_error_backward");
  float* g = detail::data_on<float>(grad, device, "squared_error_backward");
  const float two_scale = 2.0f * scale;
  for_each_index(device, grad.numel(),
                 [=] __device__(std::int64_t i) { g[i] = two_scale * (p[i] - t[i]); });
}

}  // namespace ddp::kernels::cuda
