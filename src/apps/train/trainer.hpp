// Trainer: ddp-train's run, start to end: model, data, DDP, optimizer, the step loop with
// progress and validation, checkpoints (saving and resuming), parameter export and the summary.
#pragma once

#include "ddp/comm/runtime.hpp"
#include "train_options.hpp"

namespace ddp::train {

// Trains as options say on every rank of runtime's world; rank 0 prints and writes files. It stops
// at a signal once install_stop_handlers() has run (ddp-train's main does so first).
void train(Runtime& runtime, const TrainOptions& options);

}  // namespace ddp::train
