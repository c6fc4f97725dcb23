// Step totals: what a training loop learns from its steps (the loss, bad targets, non-finite
// gradients), added up where the step runs and read back once per logging interval, so that a step
// on a GPU never waits for the host to read a value. A float64 tensor of kStepTotals elements on
// the step's device.
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

enum StepTotal : std::int64_t {
  kLossSum = 0,             // the losses added by the *_forward_into kernels (loss.hpp)
  kBadTargets = 1,          // cross-entropy targets outside [0, classes)
  kNonFiniteSteps = 2,      // steps whose gradients held a NaN or an infinity
  kNanStreak = 3,           // such steps in a row, up to the last step recorded
  kLongestNanStreak = 4,    // the longest such run
  kFirstNonFiniteStep = 5,  // the first such step's number; -1 while there is none
  kStepTotals = 6,
};

// Fresh totals on device: zeros, and no non-finite step.
Tensor make_step_totals(const Device& device);

// flag (float32, one element, on x's device) becomes 1 when x holds a NaN or an infinity, and is
// left as it is otherwise: zero it before the first tensor of a step.
void mark_non_finite(const Tensor& x, Tensor& flag);

// Adds the verdict in flag (as mark_non_finite left it) for step number step to totals.
void record_step_verdict(const Tensor& flag, std::int64_t step, Tensor& totals);

}  // namespace ddp::kernels
