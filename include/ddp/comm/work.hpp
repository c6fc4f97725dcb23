// Work: the handle of an asynchronous collective; wait() blocks until it is done and rethrows
// the error it ended with, is_completed() asks without blocking. This class is the host's form,
// completed by the backend's thread (MPI); GPU collectives (NCCL) override the three waits.
#pragma once

#include <atomic>
#include <exception>
#include <memory>

#include "ddp/core/trace.hpp"

namespace ddp {

class Work {
 public:
  Work() = default;
  virtual ~Work() = default;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  // Makes the result usable by what the caller does next: host tensors are written when it
  // returns; for a collective on a GPU stream, the device's compute stream waits for it (kernels
  // and copies issued afterwards see the result) and the host does not.
  virtual void wait();
  virtual bool is_completed() const;
  // wait(), and the host too waits until the result is in memory (the same as wait() on the host).
  virtual void synchronize();

  // While tracing records: when the collective was queued, started and ended, and the lane of the
  // thread that ran it (a backend's queue thread); -1 where it was not recorded. Read after wait().
  const trace::TaskTimes& times() const { return times_; }

  // Called once by the backend that runs the collective.
  void mark_completed();
  void mark_failed(std::exception_ptr error);

 private:
  void finish(int final_state);

  // pending, completed or failed, plus the waiter bit while a thread sleeps in wait().
  enum State : int { pending = 0, completed = 1, failed = 2, waiter = 4 };
  std::atomic<int> state_{pending};
  std::exception_ptr error_;  // written before state_ turns failed, read after
  trace::TaskTimes times_;    // written before state_ turns final, read after
};

using WorkPtr = std::shared_ptr<Work>;

}  // namespace ddp
