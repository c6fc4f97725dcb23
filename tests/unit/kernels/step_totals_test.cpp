// The step totals on the CPU, against a hand count: the verdicts of a run of steps, their streaks
// and the first non-finite step.
#include "ddp/kernels/step_totals.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace ddp::kernels {
namespace {

TEST(StepTotals, VerdictsCountStreaksAndTheFirstNonFiniteStep) {
  Tensor totals = make_step_totals(Device::cpu());
  Tensor flag = Tensor::zeros({1});
  const Tensor finite = Tensor::from_vector<float>({1, 2, 3}, {3});
  const Tensor with_nan = Tensor::from_vector<float>({1, NAN, 3}, {3});
  const Tensor with_inf = Tensor::from_vector<float>({INFINITY}, {1});
  // Steps 0..5: finite, NaN, inf, finite, NaN, finite (two buckets each: one is enough to mark).
  const Tensor* buckets[][2] = {{&finite, &finite}, {&finite, &with_nan}, {&with_inf, &finite},
                                {&finite, &finite}, {&with_nan, &finite}, {&finite, &finite}};
  const double streak_after[] = {0, 1, 2, 0, 1, 0};
  for (std::int64_t step = 0; step < 6; ++step) {
    flag.zero_();
    for (const Tensor* bucket : buckets[step]) mark_non_finite(*bucket, flag);
    record_step_verdict(flag, step, totals);
    EXPECT_EQ(totals.data<double>()[kNanStreak], streak_after[step]) << "step " << step;
  }
  const double* t = totals.data<double>();
  EXPECT_EQ(t[kNonFiniteSteps], 3);
  EXPECT_EQ(t[kLongestNanStreak], 2);
  EXPECT_EQ(t[kFirstNonFiniteStep], 1);
  EXPECT_EQ(t[kLossSum], 0);
  EXPECT_THROW(record_step_verdict(flag, 0, flag), Error);
}

}  // namespace
}  // namespace ddp::kernels
