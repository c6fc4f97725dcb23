// Cross-entropy over log-softmax and squared error on CUDA tensors. The forwards add up on the
// device in double and bring back one value, like the CPU kernels' double sums.
#include "cuda_kernels.hpp"
#include "ddp/kernels/step_totals.hpp"
#include "reduce.cuh"

namespace ddp::kernels::cuda {
namespace {

// A row's cross-entropy, or a target outside [0, classes) counted instead of read through.
struct RowLoss {
  double loss;
  double bad_targets;
  __device__ RowLoss operator+(const RowLoss& other) const {
    return {loss + other.loss, bad_targets + other.bad_targets};
  }
};

// A cross-entropy's log-probabilities and targets on device, checked there.
struct ClassRows {
  const float* log_probs;
  const std::int64_t* targets;
  std::int64_t classes;
};

ClassRows class_rows(const Tensor& log_probs, const Tensor& targets, const Device& device,
                     const char* op) {
  return {detail::data_on<float>(log_probs, device, op),
          detail::data_on<std::int64_t>(targets, device, op), log_probs.size(1)};
}

// A prediction and its target on device, checked there; the term is one element's squared
// difference in double.
struct SquaredDifference {
  const float* prediction;
  const float* target;
  __device__ double operator()(std::int64_t i) const {
    const double d = static_cast<double>(prediction[i]) - target[i];
    return d * d;
  }
};

SquaredDifference squared_difference(const Tensor& prediction, const Tensor& target,
                                     const Device& device, const char* op) {
  return {detail::data_on<float>(prediction, device, op),
          detail::data_on<float>(target, device, op)};
}

}  // namespace

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

void cross_entropy_sum_into(const Tensor& log_probs, const Tensor& targets, double scale,
                            Tensor& totals) {
  const Device device = totals.device();
  const ClassRows rows = class_rows(log_probs, targets, device, "cross_entropy_forward_into");
  double* t = detail::data_on<double>(totals, device, "cross_entropy_forward_into");
  reduce_on_device<RowLoss>(
      device, log_probs.size(0),
      [=] __device__(std::int64_t r) {
        const std::int64_t c = rows.targets[r];
        if (c < 0 || c >= rows.classes) return RowLoss{0.0, 1.0};
        return RowLoss{-static_cast<double>(rows.log_probs[r * rows.classes + c]), 0.0};
      },
      [=] __device__(RowLoss total) {
        t[kLossSum] += scale * total.loss;
        t[kBadTargets] += total.bad_targets;
      });
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& targets, float scale,
                            Tensor& grad_logits) {
  const Device device = grad_logits.device();
  const ClassRows rows = class_rows(log_probs, targets, device, "cross_entropy_backward");
  float* grad = detail::data_on<float>(grad_logits, device, "cross_entropy_backward");
  for_each_index(device, grad_logits.numel(), [=] __device__(std::int64_t i) {
    // __fmul_rn: rounded before the subtraction, as on the CPU, not fused into an FMA.
    const float g = __fmul_rn(scale, expf(rows.log_probs[i]));
    grad[i] = i % rows.classes == rows.targets[i / rows.classes] ? g - scale : g;
  });
}

double squared_error_forward(const Tensor& prediction, const Tensor& target) {
  const Device device = prediction.device();
  return reduce_sum<double>(
      device, prediction.numel(),
      squared_difference(prediction, target, device, "squared_error_forward"));
}

void squared_error_sum_into(const Tensor& prediction, const Tensor& target, double scale,
                            Tensor& totals) {
  const Device device = totals.device();
  double* t = detail::data_on<double>(totals, device, "squared_error_forward_into");
  reduce_on_device<double>(
      device, prediction.numel(),
      squared_difference(prediction, target, device, "squared_error_forward_into"),
      [=] __device__(double total) { t[kLossSum] += scale * total; });
}

void squared_error_backward(const Tensor& prediction, const Tensor& target, float scale,
                            Tensor& grad) {
  const Device device = grad.device();
  const SquaredDifference in =
      squared_difference(prediction, target, device, "squared_error_backward");
  float* g = detail::data_on<float>(grad, device, "squared_error_backward");
  const float two_scale = 2.0f * scale;
  for_each_index(device, grad.numel(), [=] __device__(std::int64_t i) {
    g[i] = two_scale * (in.prediction[i] - in.target[i]);
  });
}

}  // namespace ddp::kernels::cuda
