// Turns SIGTERM, SIGINT and SIGUSR1 (what mpirun forwards, and what Slurm sends before a time
// limit) into a request the training loop reads at its next agreement point.
#pragma once

#include <array>

namespace ddp::train {

// Installs the handlers; from then on a signal only sets the flag.
void install_stop_handlers();

// Per stop signal (SIGTERM, SIGINT, SIGUSR1): 1 when it is the one that reached this process.
// Summed over the ranks, they are the ranks' vote.
using StopVotes = std::array<double, 3>;
StopVotes stop_votes();
// The signal a sum of votes names, for the message ("SIGTERM"); nullptr when none has arrived.
const char* stop_signal_name(const StopVotes& votes);

}  // namespace ddp::train
