#include "ddp/comm/communicator_end.hpp"

namespace ddp::comm {

CommunicatorEnd::CommunicatorEnd(Action abort, Action destroy)
    : abort_(std::move(abort)), destroy_(std::move(destroy)) {}

bool CommunicatorEnd::fail(const Action& report) {
  int seen = open;
  if (state_.compare_exchange_strong(seen, failed)) {
    report();
    abort_();
    return true;
  }
  // A destroy that hangs is the watchdog's to report; the communicator is the destroy's.
  if (seen == destroying && state_.compare_exchange_strong(seen, failed)) {
    report();
    return true;
  }
  return false;
}

bool CommunicatorEnd::destroy() {
  int seen = open;
  if (!state_.compare_exchange_strong(seen, destroying)) return false;
  destroy_();
  seen = destroying;
  state_.compare_exchange_strong(seen, destroyed);
  return true;
}

}  // namespace ddp::comm
