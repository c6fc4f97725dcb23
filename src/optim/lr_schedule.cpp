#include "ddp/optim/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ddp/core/error.hpp"

namespace ddp::optim {

LrSchedule::LrSchedule(const LrScheduleOptions& options) : options_(options) {
  DDP_CHECK_ARG(options.base_lr >= 0.0, "base lr " << options.base_lr << " must be >= 0");
  DDP_CHECK_ARG(options.warmup_steps >= 0,
                "warmup steps " << options.warmup_steps << " must be >= 0");
  DDP_CHECK_ARG(options.kind != ScheduleKind::step || options.step_size > 0,
                "step schedule needs step_size > 0, got " << options.step_size);
  DDP_CHECK_ARG(options.kind != ScheduleKind::cosine || options.total_steps > options.warmup_steps,
                "cosine schedule needs total_steps (" << options.total_steps
                                                      << ") greater than warmup_steps ("
                                                      << options.warmup_steps << ")");
}

double LrSchedule::lr_at(std::int64_t step) const {
  DDP_CHECK(step >= 0, "lr_at step " << step << " must be >= 0");
  const double base = options_.base_lr;
  if (step < options_.warmup_steps) {
    return base * static_cast<double>(step + 1) / static_cast<double>(options_.warmup_steps);
  }
  const std::int64_t after = step - options_.warmup_steps;
  switch (options_.kind) {
    case ScheduleKind::constant:
      return base;
    case ScheduleKind::step:
      return base * std::pow(options_.gamma, static_cast<double>(after / options_.step_size));
    case ScheduleKind::cosine: {
      const double span = static_cast<double>(options_.total_steps - options_.warmup_steps);
      const double progress = std::min(1.0, static_cast<double>(after) / span);
      return options_.min_lr +
             (base - options_.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return base;
}

double linear_scaled_lr(double lr, std::int64_t global_batch, std::int64_t reference_batch) {
  DDP_CHECK_ARG(global_batch > 0 && reference_batch > 0,
                "linear lr scaling needs positive batch sizes, got global "
                    << global_batch << " and reference " << reference_batch);
  return lr * static_cast<double>(global_batch) / static_cast<double>(reference_batch);
}

}  // namespace ddp::optim
