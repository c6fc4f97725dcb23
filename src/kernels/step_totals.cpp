#include "ddp/kernels/step_totals.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "step_verdict.hpp"

namespace ddp::kernels {
namespace {

void check_flag(const Tensor& flag, const char* op) {
  DDP_CHECK(flag.dtype() == DType::float32 && flag.numel() == 1,
            op << ": the flag must be one float32, got " << ddp::to_string(flag.dtype())
               << ddp::to_string(flag.shape()));
}

}  // namespace

Tensor make_step_totals(const Device& device) {
  std::vector<double> fresh(kStepTotals, 0.0);
  fresh[kFirstNonFiniteStep] = -1.0;
  return Tensor::from_vector(fresh, {kStepTotals}).to(device);
}

void mark_non_finite(const Tensor& x, Tensor& flag) {
  check_flag(flag, "mark_non_finite");
  if (flag.device().is_cuda()) return cuda::mark_non_finite(x, flag);
  const float* data = detail::cpu_floats(x, "mark_non_finite");
  float* marked = detail::cpu_floats(flag, "mark_non_finite");
  if (std::any_of(data, data + x.numel(), [](float v) { return !std::isfinite(v); })) *marked = 1;
}

void record_step_verdict(const Tensor& flag, std::int64_t step, Tensor& totals) {
  check_flag(flag, "record_step_verdict");
  detail::check_step_totals(totals, "record_step_verdict");
  if (totals.device().is_cuda()) return cuda::record_step_verdict(flag, step, totals);
  const float* marked = detail::cpu_floats(flag, "record_step_verdict");
  double* t = detail::data_on<double>(totals, Device::cpu(), "record_step_verdict");
  detail::add_step_verdict(*marked != 0.0f, static_cast<double>(step), t);
}

}  // namespace ddp::kernels
