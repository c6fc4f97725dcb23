// Work: the handle of an asynchronous collective; wait() blocks until it is done and rethrows
// the error it ended with, is_completed() asks without blocking.
#pragma once

#include <atomic>
#include <exception>
#include <memory>

namespace ddp {

class Work {
 public:
  Work() = default;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  void wait();
  bool is_completed() const;

  // Called once by the backend that runs the collective.
  void mark_completed();
  void mark_failed(std::exception_ptr error);

 private:
  void finish(int final_state);

  // pending, completed or failed, plus the waiter bit while a thread sleeps in wait().
  enum State : int { pending = 0, completed = 1, failed = 2, waiter = 4 };
  std::atomic<int> state_{pending};
  std::exception_ptr error_;  // written before state_ turns failed, read after
};

using WorkPtr = std::shared_ptr<Work>;

}  // namespace ddp
