// Turns SIGTERM, SIGINT and SIGUSR1 (what mpirun forwards, and what Slurm sends before a time
// limit) into a request the training loop reads at its next agreement point.
#pragma once

namespace ddp::train {

// Installs the handlers; from then on a signal only sets the flag.
void install_stop_handlers();
// Whether a stop signal has arrived at this process.
bool stop_requested();
// The signal's name, for the message: "SIGTERM".
const char* stop_signal_name();

}  // namespace ddp::train
