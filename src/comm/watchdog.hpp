// Watchdog: ends the whole job, with one message, when a collective stays in flight past a timeout,
// so that a dead, hung or diverging rank never leaves the others waiting silently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "collective_info.hpp"
#include "ddp/core/running_time.hpp"

namespace ddp::comm {

class Watchdog {
 public:
  // group_name appears in the message ("world", "world/split(1)"). end_job, when given, takes the
  // timeout's message on the watchdog's thread and owns the job's end from there (NCCL's group
  // reports it and aborts its communicator, or stays silent when another failure came first);
  // without it the watchdog prints the message and ends the job.
  Watchdog(std::string group_name, std::chrono::duration<double> timeout,
           std::function<void(const std::string& message)> end_job = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Called by the thread that runs the collectives, around each one.
  void begin(const CollectiveInfo& info);
  void end();

 private:
  void run();

  std::string group_name_;
  std::chrono::duration<double> timeout_;
  std::function<void(const std::string&)> end_job_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<CollectiveInfo> in_flight_;
  std::chrono::steady_clock::duration period_;
  std::optional<RunningTime> in_flight_for_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it reads are built
};

// DDP_TIMEOUT_SECONDS, default 300.
std::chrono::duration<double> collective_timeout();

}  // namespace ddp::comm
