#include "ddp/comm/work.hpp"

namespace ddp {

void Work::wait() {
  // Announce the waiter, so that completion pays for a futex wake only when someone sleeps.
  int state = state_.fetch_or(waiter, std::memory_order_acq_rel) | waiter;
  // A wait that blocks is a wait at a collective on the timeline.
  const trace::Span blocked((state & ~waiter) == pending ? "wait" : nullptr, "wait");
  while ((state & ~waiter) == pending) {
    state_.wait(state, std::memory_order_acquire);
    state = state_.load(std::memory_order_acquire);
  }
  if ((state & ~waiter) == failed) std::rethrow_exception(error_);
}

void Work::synchronize() {
  wait();
}

bool Work::is_completed() const {
  return (state_.load(std::memory_order_acquire) & ~waiter) != pending;
}

void Work::mark_completed() {
  finish(completed);
}

void Work::mark_failed(std::exception_ptr error) {
  error_ = std::move(error);
  finish(failed);
}

void Work::finish(int final_state) {
  if (trace::recording()) times_ = trace::current_task();
  if (state_.exchange(final_state, std::memory_order_acq_rel) & waiter) state_.notify_all();
}

}  // namespace ddp
