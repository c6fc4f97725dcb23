#include "stop_signal.hpp"

#include <csignal>
#include <initializer_list>

namespace ddp::train {
namespace {

volatile std::sig_atomic_t received_signal = 0;

void on_signal(int signal) {
  received_signal = signal;
}

}  // namespace

void install_stop_handlers() {
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, on_signal);
}

bool stop_requested() {
  return received_signal != 0;
}

const char* stop_signal_name() {
  switch (received_signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "no signal";
  }
}

}  // namespace ddp::train
