#include "serial_executor.hpp"

#include "ddp/core/trace.hpp"

namespace ddp::comm {

SerialExecutor::SerialExecutor() : thread_([this] { run(); }) {}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SerialExecutor::submit(std::function<void()> task) {
  bool was_idle = false;
  const std::int64_t queued_ns = trace::recording() ? trace::now_ns() : -1;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back({std::move(task), queued_ns});
    was_idle = idle_;
  }
  // A busy thread finds the task when it looks for the next one: no wake-up call needed.
  if (was_idle) wake_.notify_one();
}

void SerialExecutor::run() {
  trace::name_this_thread("comm");
  std::unique_lock lock(mutex_);
  while (true) {
    idle_ = true;
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    idle_ = false;
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    Queued next = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    // What the task completes learns when it was queued and started (Work::times).
    trace::begin_task(next.queued_ns);
    next.task();
    trace::end_task();
    next.task = nullptr;  // release the task's tensors before waiting for the next one
    lock.lock();
  }
}

}  // namespace ddp::comm
