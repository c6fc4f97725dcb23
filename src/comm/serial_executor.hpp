// SerialExecutor: one background thread running submitted tasks one at a time, in submission order.
// Every rank submits the same collectives in the same order, which is what keeps MPI's matched.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ddp::comm {

class SerialExecutor {
 public:
  SerialExecutor();
  // Runs what is still queued, then joins the thread.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Tasks must not throw: they report through their Work.
  void submit(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  struct Queued {
    std::function<void()> task;
    std::int64_t queued_ns;  // for the trace, -1 while it does not record
  };
  std::deque<Queued> tasks_;
  bool stopping_ = false;
  bool idle_ = false;   // the thread sleeps on wake_
  std::thread thread_;  // last: starts after the members it reads are built
};

}  // namespace ddp::comm
