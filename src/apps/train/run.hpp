// Run: one ddp-train run on one rank, from setup to summary, in three files: run_setup.cpp builds
// the model, data, DDP and optimizer and resumes; run_steps.cpp is the step loop and its
// checkpoints; run_reports.cpp the progress, validation, epoch lines and summary.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "ddp/comm/runtime.hpp"
#include "ddp/data/dataset.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/tensor_dataset.hpp"
#include "ddp/io/checkpoint.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/lr_schedule.hpp"
#include "ddp/optim/optimizer.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "ddp/parallel/sharded_optimizer.hpp"
#include "metrics_log.hpp"
#include "progress.hpp"
#include "train_options.hpp"

namespace ddp::train {

using Clock = std::chrono::steady_clock;

// Steps left out of the throughput figures: first touches of memory, thread start-up.
constexpr std::int64_t kWarmupSteps = 5;

// loss: per prediction, i.e. per sample, or per token for a language model; accuracy: of the
// predictions (every token's); samples 0: no validation set; bits_per_byte: a language model's
// loss / ln 2 (its tokens are bytes), -1 for other models.
using ValidationResult = EpochValidation;

// Every validation sample exactly once over the ranks (no padding duplicates), reduced as sums and
// counts, so loss and accuracy are exact for any world size. A language model's every position is
// a prediction: the loss is per token.
ValidationResult validate(models::Model& model, data::DataLoader* loader, ProcessGroup& group);

// Sums values over the ranks, in place.
void sum_over_ranks(ProcessGroup& group, std::vector<double>& values);

class Run {
 public:
  Run(Runtime& runtime, const TrainOptions& options);  // run_setup.cpp
  void execute();                                      // run_steps.cpp

 private:
  // run_setup.cpp
  // given_data: the training set when it was loaded before the model (not synthetic).
  void build_data(std::shared_ptr<const data::TensorDataset> given_data);
  void build_parallel();
  // The newest checkpoint when --resume finds one, its parameters loaded; nullopt otherwise.
  std::optional<io::LoadedCheckpoint> load_newest_parameters();
  // The optimizer state and the position in the data of that checkpoint.
  void resume_from(const io::LoadedCheckpoint& loaded);
  void build_schedule(bool resumed);

  // run_steps.cpp
  // Up to --grad-accum batches of the epoch: one optimizer step's micro-batches; none at its end.
  std::vector<data::Batch> next_micro_batches();
  // One optimizer step over its micro-batches, all but the last under DDP's no_sync, the loss of
  // each normalised by the step's global count (of samples, or tokens for a language model).
  void train_one_step(const std::vector<data::Batch>& micro_batches, Clock::time_point loaded,
                      Clock::time_point asked);
  // Steps in an epoch: its batches over --grad-accum, the last step taking what is left.
  std::int64_t steps_per_epoch() const;
  void save_checkpoint();
  // Over the gradients after the reduction: a sharded optimizer's blocks (a vote of the ranks), or
  // all of them (the same on every rank).
  bool reduced_gradients_finite() const;
  void clip_gradients();
  // A step with non-finite gradients: skipped, or the end of the run, as --nan-policy says.
  void handle_non_finite(std::int64_t step, float loss);
  // On a GPU: the verdict on the reduced gradients taken there, the optimizer step skipped there
  // when they are not finite; the host reads it with the step totals.
  void step_with_device_verdict();
  // On a GPU: reads the step totals back (one host wait) and acts on them, the loss into the
  // window and the epoch, bad targets and non-finite steps as --nan-policy says; then fresh totals.
  // Called at each report and epoch end; nothing on the CPU, whose steps act at once.
  void read_step_totals();
  void handle_non_finite_steps(const std::vector<double>& totals);

  // run_reports.cpp
  void print_start();
  // One small all-reduce: the loss since the last report, and whether any rank was asked to stop
  // (so that every rank stops after the same step).
  void report_progress();
  void finish_epoch(std::int64_t epoch);
  void print_evaluation();
  void print_summary();
  double samples_per_second() const;

  Runtime& runtime_;
  const TrainOptions& o_;
  ProcessGroup& world_;  // host tensors: metrics, stop votes
  bool is_root_;
  Device device_;                                 // the model's, the batches' and the gradients'
  std::shared_ptr<ProcessGroup> gradient_group_;  // all ranks, on the backend for device_
  models::Model model_;
  std::vector<nn::Parameter*> params_;
  // The model's Dropout layers and their positions in modules(), which name their mask streams.
  std::vector<std::pair<std::uint64_t, nn::Dropout*>> dropouts_;
  std::shared_ptr<const data::Dataset> train_set_;
  std::shared_ptr<const data::Dataset> val_set_;
  std::unique_ptr<data::DataLoader> train_loader_;
  std::unique_ptr<data::DataLoader> val_loader_;
  std::optional<io::CheckpointDirectory> checkpoints_;
  std::optional<parallel::DistributedDataParallel> ddp_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  parallel::ShardedOptimizer* sharded_ = nullptr;  // optimizer_, when it is sharded
  std::optional<optim::LrSchedule> schedule_;
  nn::CrossEntropyLoss criterion_;  // kept: its memory is reused from step to step
  MetricsLog metrics_;

  std::int64_t step_ = 0;
  data::SamplerState position_;
  std::int64_t total_steps_ = 0;
  std::optional<Progress> progress_;

  double window_loss_ = 0;  // this rank's share of the loss over the steps since the last report
  std::int64_t window_steps_ = 0;
  double last_loss_ = 0;  // the global mean loss of the last report
  double epoch_loss_ = 0;
  std::int64_t epoch_steps_ = 0;
  std::int64_t steps_this_run_ = 0;
  Clock::time_point timing_start_;
  StepTimes timed_;  // summed over the timed steps of the epoch
  std::int64_t timed_steps_ = 0;
  std::int64_t timed_samples_ = 0;
  Clock::duration timed_wall_{};
  ValidationResult last_validation_;
  // The stop signal some rank received, as the ranks' vote named it: all stop after this step.
  const char* stop_signal_ = nullptr;
  bool stopping() const { return stop_signal_ != nullptr; }
  std::int64_t nan_streak_ = 0;
  // On a GPU (kernels/step_totals.hpp): the sums since the last read, and this step's verdict.
  Tensor step_totals_;
  Tensor non_finite_flag_;
  std::int64_t timed_host_waits_ = 0;  // in the timed steps, reports and epoch ends left out
};

}  // namespace ddp::train
