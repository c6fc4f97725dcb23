// Time a process spent running: a wait measured with it does not count the time the process was
// stopped (SIGSTOP, as `scontrol suspend` sends) or the machine slept, so a job suspended for
// longer than a timeout is not ended by that timeout the moment it resumes.
#pragma once

#include <chrono>

namespace ddp {

class RunningTime {
 public:
  using Clock = std::chrono::steady_clock;

  // max_gap: the longest time between two looks that counts in full; a longer gap means the process
  // did not run, and counts as max_gap. Look more often than that.
  RunningTime(Clock::duration max_gap, Clock::time_point start = Clock::now());

  // The running time from start to now, counting the gap since the previous look.
  Clock::duration look(Clock::time_point now = Clock::now());

 private:
  Clock::duration max_gap_;
  Clock::time_point last_look_;
  Clock::duration counted_{};
};

}  // namespace ddp
