// Rank 0's view of a run: a progress bar with ETA, loss and samples/s on a terminal, plain lines
// now and then otherwise (a batch job's log), and one line per epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

namespace ddp::train {

struct StepTimes {
  double compute_ms = 0;  // forward, backward and optimizer, per step
  double comm_ms = 0;     // communication left after backward (exposed), per step
  double data_ms = 0;     // waiting for the loader, per step
  // Times the host waited for the GPU, per step (kernels::cuda_host_waits); negative on the CPU.
  double host_waits = -1;
};

// What an epoch line shows of validation (ValidationResult's figures).
struct EpochValidation {
  double loss = 0;
  double accuracy = 0;
  std::int64_t samples = 0;
  double bits_per_byte = -1;
};

class Progress {
 public:
  // total_steps: the steps this run will take, for the bar and the ETA.
  Progress(std::ostream& out, std::int64_t total_steps, bool terminal);

  void update(std::int64_t step, double loss, double samples_per_s, double lr);
  // val: validation.samples 0 for none; bits_per_byte >= 0 for a language model's (loss per token).
  void epoch_done(std::int64_t epoch, double train_loss, const EpochValidation& val,
                  double samples_per_s, const StepTimes& times);
  // Ends the bar's line, which the bar, redrawn in place with \r, never ends itself: call it
  // before writing anything else to out ("done: ...", "stopped by ...").
  void end_line();

 private:
  void clear_bar();

  std::ostream& out_;
  std::int64_t total_steps_;
  bool terminal_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_line_ = start_;
  std::int64_t next_percent_line_ = 10;  // plain mode prints at every 10% of the run
};

}  // namespace ddp::train
