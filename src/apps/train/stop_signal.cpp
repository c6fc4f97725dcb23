#include "stop_signal.hpp"

#include <csignal>

namespace ddp::train {
namespace {

constexpr std::array<int, 3> kStopSignals{SIGTERM, SIGINT, SIGUSR1};
constexpr std::array<const char*, 3> kStopSignalNames{"SIGTERM", "SIGINT", "SIGUSR1"};

volatile std::sig_atomic_t received_signal = 0;

void on_signal(int signal) {
  received_signal = signal;
}

}  // namespace

void install_stop_handlers() {
  for (int signal : kStopSignals) std::signal(signal, on_signal);
}

StopVotes stop_votes() {
  StopVotes votes{};
  for (std::size_t i = 0; i < kStopSignals.size(); ++i) {
    votes[i] = received_signal == kStopSignals[i] ? 1.0 : 0.0;
  }
  return votes;
}

const char* stop_signal_name(const StopVotes& votes) {
  for (std::size_t i = 0; i < votes.size(); ++i) {
    if (votes[i] > 0) return kStopSignalNames[i];
  }
  return nullptr;
}

}  // namespace ddp::train
