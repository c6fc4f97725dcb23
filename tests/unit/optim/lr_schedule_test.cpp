#include "ddp/optim/lr_schedule.hpp"

#include <gtest/gtest.h>

#include "ddp/core/error.hpp"

namespace ddp::optim {
namespace {

TEST(LrSchedule, ConstantWithLinearWarmup) {
  LrSchedule schedule({.kind = ScheduleKind::constant, .base_lr = 0.4, .warmup_steps = 4});
  EXPECT_DOUBLE_EQ(schedule.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lr_at(3), 0.4);
  EXPECT_DOUBLE_EQ(schedule.lr_at(100), 0.4);
}

TEST(LrSchedule, StepDecaysEveryStepSizeAfterWarmup) {
  LrSchedule schedule({.kind = ScheduleKind::step,
                       .base_lr = 1.0,
                       .warmup_steps = 2,
                       .step_size = 10,
                       .gamma = 0.5});
  EXPECT_DOUBLE_EQ(schedule.lr_at(0), 0.5);
  EXPECT_DOUBLE_EQ(schedule.lr_at(2), 1.0);
  EXPECT_DOUBLE_EQ(schedule.lr_at(11), 1.0);
  EXPECT_DOUBLE_EQ(schedule.lr_at(12), 0.5);
  EXPECT_DOUBLE_EQ(schedule.lr_at(31), 0.25);
  EXPECT_DOUBLE_EQ(schedule.lr_at(32), 0.125);
}

TEST(LrSchedule, CosineFallsFromBaseToMinAndStays) {
  LrSchedule schedule({.kind = ScheduleKind::cosine,
                       .base_lr = 1.0,
                       .warmup_steps = 10,
                       .total_steps = 110,
                       .min_lr = 0.1});
  EXPECT_DOUBLE_EQ(schedule.lr_at(10), 1.0);
  EXPECT_NEAR(schedule.lr_at(60), 0.55, 1e-12);
  EXPECT_NEAR(schedule.lr_at(110), 0.1, 1e-12);
  EXPECT_NEAR(schedule.lr_at(500), 0.1, 1e-12);
  EXPECT_THROW(LrSchedule({.kind = ScheduleKind::cosine, .warmup_steps = 5, .total_steps = 5}),
               InvalidArgument);
}

TEST(LrSchedule, LinearScalingRule) {
  EXPECT_DOUBLE_EQ(linear_scaled_lr(0.1, 1024, 256), 0.4);
  EXPECT_THROW(linear_scaled_lr(0.1, 0, 256), InvalidArgument);
}

}  // namespace
}  // namespace ddp::optim
