// CommunicatorEnd: the one owner of the end of a communicator. A collective backend's watchdog
// (a timeout), its monitor (an asynchronous error) and its group's destructor each want to end the
// communicator from their own thread: an abort for a failure, a destroy at the normal end. Two
// aborts, or an abort beside a destroy, free it twice (a crash instead of the failure's message).
// Here exactly one failure reports, and the communicator is ended once, by whoever came first.
#pragma once

#include <atomic>
#include <functional>

namespace ddp::comm {

class CommunicatorEnd {
 public:
  using Action = std::function<void()>;

  // abort and destroy end the communicator (ncclCommAbort, ncclCommDestroy).
  CommunicatorEnd(Action abort, Action destroy);

  // A failure: true for the first one, which has then run report and, unless a destroy is under
  // way (a communicator must not be aborted while it is destroyed), abort: its caller ends the job.
  // false for any later failure, or after the destroy finished: its caller says nothing and leaves
  // the communicator alone.
  bool fail(const Action& report);

  // The normal end: runs destroy unless a failure came first (false then: that failure is ending
  // the job). A failure during the destroy (a peer that never joins it) is reported as usual.
  bool destroy();

 private:
  enum State : int { open, destroying, destroyed, failed };
  std::atomic<int> state_{open};
  Action abort_;
  Action destroy_;
};

}  // namespace ddp::comm
