#include "ddp/core/running_time.hpp"

#include <algorithm>

namespace ddp {

RunningTime::RunningTime(Clock::duration max_gap, Clock::time_point start)
    : max_gap_(max_gap), last_look_(start) {}

RunningTime::Clock::duration RunningTime::look(Clock::time_point now) {
  counted_ += std::clamp(now - last_look_, Clock::duration::zero(), max_gap_);
  last_look_ = now;
  return counted_;
}

}  // namespace ddp
