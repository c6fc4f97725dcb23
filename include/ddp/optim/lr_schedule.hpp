// Learning-rate schedules (constant, step decay, cosine), each with an optional linear warmup,
// and the linear scaling rule for large global batches.
#pragma once

#include <cstdint>
#include <string>

namespace ddp::optim {

enum class ScheduleKind { constant, step, cosine };

struct LrScheduleOptions {
  ScheduleKind kind = ScheduleKind::constant;  // the shape after warmup
  double base_lr = 0.1;                        // the lr reached at the end of warmup
  std::int64_t warmup_steps = 0;  // lr rises linearly to base_lr over these steps (0: none)
  std::int64_t step_size = 1000;  // step: multiply by gamma every step_size steps after warmup
  double gamma = 0.1;             // step: the decay factor
  std::int64_t total_steps = 0;   // cosine: the step (warmup included) where min_lr is reached
  double min_lr = 0.0;            // cosine: the floor
};

class LrSchedule {
 public:
  explicit LrSchedule(const LrScheduleOptions& options);
  // The lr for step (counting from 0): warmup gives base_lr * (step + 1) / warmup_steps, so the
  // first step is not wasted at lr 0.
  double lr_at(std::int64_t step) const;

 private:
  LrScheduleOptions options_;
};

// The linear scaling rule (Goyal et al.): lr * global_batch / reference_batch, for keeping the
// per-sample step when the global batch grows with the number of ranks.
double linear_scaled_lr(double lr, std::int64_t global_batch, std::int64_t reference_batch);

}  // namespace ddp::optim
