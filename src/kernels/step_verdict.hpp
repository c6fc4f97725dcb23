// What the step totals' kernels share (private to src/kernels): their check, and one step's verdict
// added to them, the same code on the host and on a GPU (there in a one-thread kernel).
#pragma once

#include "ddp/core/error.hpp"
#include "ddp/kernels/step_totals.hpp"

#if defined(__CUDACC__)
#define DDP_HOST_DEVICE __host__ __device__
#else
#define DDP_HOST_DEVICE
#endif

namespace ddp::kernels::detail {

#if !defined(__CUDACC__)
inline void check_step_totals(const Tensor& totals, const char* op) {
  DDP_CHECK(totals.dtype() == DType::float64 && totals.numel() == kStepTotals,
            op << ": totals must be float64 [" << kStepTotals << "] (make_step_totals), got "
               << ddp::to_string(totals.dtype()) << ddp::to_string(totals.shape()));
}
#endif

inline DDP_HOST_DEVICE void add_step_verdict(bool non_finite, double step, double* totals) {
  if (!non_finite) {
    totals[kNanStreak] = 0;
    return;
  }
  totals[kNonFiniteSteps] += 1;
  totals[kNanStreak] += 1;
  if (totals[kNanStreak] > totals[kLongestNanStreak])
    totals[kLongestNanStreak] = totals[kNanStreak];
  if (totals[kFirstNonFiniteStep] < 0) totals[kFirstNonFiniteStep] = step;
}

}  // namespace ddp::kernels::detail

#undef DDP_HOST_DEVICE
