#include "serial_executor.hpp"

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
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    was_idle = idle_;
  }
  // A busy thread finds the task when it looks for the next one: no wake-up call needed.
  if (was_idle) wake_.notify_one();
}

void SerialExecutor::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    idle_ = true;
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    idle_ = false;
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // release the task's tensors before waiting for the next one
    lock.lock();
  }
}

}  // namespace ddp::comm
