#include "watchdog.hpp"

#include <algorithm>
#include <sstream>

#include "ddp/comm/runtime.hpp"
#include "ddp/core/env.hpp"
#include "ddp/core/log.hpp"

namespace ddp::comm {

std::chrono::duration<double> collective_timeout() {
  double seconds = env::get_double("DDP_TIMEOUT_SECONDS", 300.0);
  DDP_CHECK_ARG(seconds > 0, "DDP_TIMEOUT_SECONDS=" << seconds << " must be positive");
  return std::chrono::duration<double>(seconds);
}

Watchdog::Watchdog(std::string group_name, std::chrono::duration<double> timeout,
                   std::function<void(const std::string&)> end_job)
    : group_name_(std::move(group_name)),
      timeout_(timeout),
      end_job_(std::move(end_job)),
      // Checking a few times per timeout keeps the overshoot small at almost no cost.
      period_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::min<std::chrono::duration<double>>(timeout / 4, std::chrono::seconds(1)))),
      thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Watchdog::begin(const CollectiveInfo& info) {
  std::lock_guard lock(mutex_);
  in_flight_ = info;
  // Looks more than two periods apart mean this process was stopped: two periods of it count.
  in_flight_for_.emplace(2 * period_);
}

void Watchdog::end() {
  std::lock_guard lock(mutex_);
  in_flight_.reset();
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    if (!in_flight_) continue;
    const std::chrono::duration<double> elapsed = in_flight_for_->look();
    if (elapsed < timeout_) continue;
    std::ostringstream message;
    message << describe(*in_flight_) << " on group " << group_name_ << " did not complete within "
            << timeout_.count()
            << " s: another rank may have died, hung or skipped this collective; aborting the job"
            << " (DDP_TIMEOUT_SECONDS sets the limit)";
    if (end_job_) {
      // The owner may return (another thread ends the job): once is enough.
      in_flight_.reset();
      lock.unlock();
      end_job_(message.str());
      lock.lock();
      continue;
    }
    DDP_ERROR(message.str());
    Runtime::abort_job(1);
  }
}

}  // namespace ddp::comm
