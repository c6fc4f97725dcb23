// The step totals' kernels on a CUDA device: they write the totals where they live, and the host
// reads nothing back.
#include <cmath>

#include "../step_verdict.hpp"
#include "cuda_kernels.hpp"
#include "reduce.cuh"

namespace ddp::kernels::cuda {

void mark_non_finite(const Tensor& x, Tensor& flag) {
  const Device device = flag.device();
  const float* data = detail::data_on<float>(x, device, "mark_non_finite");
  float* marked = detail::data_on<float>(flag, device, "mark_non_finite");
  if (x.numel() == 0) return;
  // Squares in double cannot overflow from finite floats: the sum is finite exactly when all are.
  reduce_on_device<double>(
      device, x.numel(),
      [=] __device__(std::int64_t i) {
        const double v = data[i];
        return v * v;
      },
      [=] __device__(double total) {
        if (!isfinite(total)) *marked = 1.0f;
      });
}

void record_step_verdict(const Tensor& flag, std::int64_t step, Tensor& totals) {
  const Device device = totals.device();
  const float* marked = detail::data_on<float>(flag, device, "record_step_verdict");
  double* t = detail::data_on<double>(totals, device, "record_step_verdict");
  const double number = static_cast<double>(step);
  for_each_index(device, 1, [=] __device__(std::int64_t) {
    detail::add_step_verdict(*marked != 0.0f, number, t);
  });
}

}  // namespace ddp::kernels::cuda
