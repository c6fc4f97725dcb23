#include "ddp/comm/work.hpp"

namespace ddp {

void Work::wait() {
  // std::atomic::wait sleeps on a futex: no spinning that would steal the core MPI polls on.
  int state = state_.load(std::memory_order_acquire);
  while (state == pending) {
    state_.wait(pending, std::memory_order_acquire);
    state = state_.load(std::memory_order_acquire);
  }
  if (state == failed) std::rethrow_exception(error_);
}

bool Work::is_completed() const { return state_.load(std::memory_order_acquire) != pending; }

void Work::mark_completed() {
  state_.store(completed, std::memory_order_release);
  state_.notify_all();
}

void Work::mark_failed(std::exception_ptr error) {
  error_ = std::move(error);
  state_.store(failed, std::memory_order_release);
  state_.notify_all();
}

}  // namespace ddp
