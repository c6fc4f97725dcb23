#include "trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include "data_builder.hpp"
#include "ddp/comm/backend.hpp"
#include "ddp/core/env.hpp"
#include "ddp/core/log.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/split.hpp"
#include "ddp/io/checkpoint.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/reduce.hpp"
#include "ddp/kernels/tf32.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/mlp.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/clip.hpp"
#include "ddp/optim/lr_schedule.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "ddp/parallel/sharded_optimizer.hpp"
#include "device_choice.hpp"
#include "metrics_log.hpp"
#include "progress.hpp"
#include "stop_signal.hpp"

namespace ddp::train {
namespace {

using Clock = std::chrono::steady_clock;

// Steps left out of the throughput figures: first touches of memory, thread start-up.
constexpr std::int64_t kWarmupSteps = 5;

// --shard-optimizer auto shards models from this size: below it, the barriers and the finiteness
// vote it adds to a step cost more than the optimizer work it saves (2 ranks sharing one copy of
// the parameters: 55 k parameters slower sharded, 118 k even, 270 k faster, 1.9 M 21 % faster).
constexpr std::int64_t kShardFromParameters = std::int64_t{1} << 18;

double milliseconds(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

// Sums values over the ranks, in place.
void sum_over_ranks(ProcessGroup& group, std::vector<double>& values) {
  Tensor t = Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
  group.all_reduce(t);
  values = t.to_vector<double>();
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                 std::vector<nn::Parameter*> params) {
  if (o.optimizer == "adamw") {
    return std::make_unique<optim::Adamw>(
        std::move(params), optim::AdamwOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  }
  return std::make_unique<optim::Sgd>(
      std::move(params),
      optim::SgdOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
}

struct ValidationResult {
  double loss = 0;
  double accuracy = 0;
  std::int64_t samples = 0;  // 0: no validation set
};

// Every validation sample exactly once over the ranks (no padding duplicates), reduced as sums and
// counts, so loss and accuracy are exact for any world size.
ValidationResult validate(nn::Module& model, data::DataLoader* loader, ProcessGroup& group) {
  if (loader == nullptr) return {};
  nn::CrossEntropyLoss criterion;
  std::vector<double> sums(3, 0.0);  // loss sum, correct, samples
  model.eval();
  loader->start_epoch(0);
  while (auto batch = loader->next()) {
    Tensor logits = model.forward(batch->features);
    sums[0] += criterion.forward(logits, batch->labels, 1);
    // Predictions are counted on the host (from a GPU: one read-back per validation batch).
    const std::vector<float> scores = logits.to_vector<float>();
    const std::vector<std::int64_t> labels = batch->labels.to_vector<std::int64_t>();
    const float* row = scores.data();
    const std::int64_t classes = logits.size(1);
    for (std::int64_t i = 0; i < batch->local_n; ++i, row += classes) {
      std::int64_t predicted = std::max_element(row, row + classes) - row;
      sums[1] += predicted == labels[static_cast<std::size_t>(i)];
    }
    sums[2] += static_cast<double>(batch->local_n);
  }
  model.train();
  sum_over_ranks(group, sums);
  if (sums[2] == 0) return {};
  return {sums[0] / sums[2], sums[1] / sums[2], static_cast<std::int64_t>(sums[2])};
}

// After the all-reduce every rank holds the same gradients, so every rank reaches the same verdict
// without talking. One reduction per bucket rather than per parameter: on a GPU each is a wait.
bool gradients_finite(const parallel::Reducer& reducer) {
  for (const Tensor& bucket : reducer.gradient_buckets()) {
    if (!std::isfinite(kernels::squared_norm(bucket))) return false;
  }
  return true;
}

// Dropout masks from (seed, step, rank): a resumed run draws exactly the masks it would have.
void reseed_dropout(nn::Sequential& model, std::uint64_t seed, std::int64_t step, int rank) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (auto* dropout = dynamic_cast<nn::Dropout*>(&model[i])) {
      std::uint64_t stream = (static_cast<std::uint64_t>(step) << 20) ^ (i << 12) ^ rank;
      dropout->generator().set_state(Generator(derive_seed(seed, stream)).state());
    }
  }
}

class Run {
 public:
  Run(Runtime& runtime, const TrainOptions& options);
  void execute();

 private:
  // The newest checkpoint when --resume finds one, its parameters loaded; nullopt otherwise.
  std::optional<io::LoadedCheckpoint> load_newest_parameters();
  // The optimizer state and the position in the data of that checkpoint.
  void resume_from(const io::LoadedCheckpoint& loaded);
  void save_checkpoint();
  // One small all-reduce: the loss since the last report, and whether any rank was asked to stop
  // (so that every rank stops after the same step).
  void report_progress();
  // Over the gradients after the reduction: a sharded optimizer's blocks (a vote of the ranks), or
  // all of them (the same on every rank).
  bool reduced_gradients_finite() const;
  void clip_gradients();
  // A step with non-finite gradients: skipped, or the end of the run, as --nan-policy says.
  void handle_non_finite(std::int64_t step, float loss);
  void finish_epoch(std::int64_t epoch);

  Runtime& runtime_;
  const TrainOptions& o_;
  ProcessGroup& world_;  // host tensors: metrics, stop votes
  bool is_root_;
  Device device_;                                 // the model's, the batches' and the gradients'
  std::shared_ptr<ProcessGroup> gradient_group_;  // all ranks, on the backend for device_
  std::unique_ptr<nn::Sequential> model_;
  std::vector<nn::Parameter*> params_;
  std::shared_ptr<const data::Dataset> train_set_;
  std::shared_ptr<const data::Dataset> val_set_;
  std::unique_ptr<data::DataLoader> train_loader_;
  std::unique_ptr<data::DataLoader> val_loader_;
  std::optional<io::CheckpointDirectory> checkpoints_;
  std::optional<parallel::DistributedDataParallel> ddp_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  parallel::ShardedOptimizer* sharded_ = nullptr;  // optimizer_, when it is sharded
  std::optional<optim::LrSchedule> schedule_;
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
  StepTimes timed_;  // summed over the timed steps of the epoch
  std::int64_t timed_steps_ = 0;
  std::int64_t timed_samples_ = 0;
  Clock::duration timed_wall_{};
  ValidationResult last_validation_;
  // The stop signal some rank received, as the ranks' vote named it: all stop after this step.
  const char* stop_signal_ = nullptr;
  bool stopping() const { return stop_signal_ != nullptr; }
  std::int64_t nan_streak_ = 0;
};

Run::Run(Runtime& runtime, const TrainOptions& options)
    : runtime_(runtime),
      o_(options),
      world_(*runtime.world()),
      is_root_(runtime.rank() == 0),
      device_(choose_device(options.device, runtime)),
      metrics_(is_root_ ? options.metrics_out : "") {
  // First, as a bad --backend for this device should end the run in seconds.
  gradient_group_ = make_process_group(runtime, o_.backend, device_);
  kernels::set_allow_tf32(o_.tf32);
  kernels::set_compute_threads(
      o_.threads > 0 ? o_.threads : kernels::default_compute_threads(runtime.local_size()));
  std::vector<std::int64_t> widths = nn::parse_mlp_widths(o_.model);
  DDP_CHECK_ARG(widths.back() >= 2, "--model '" << o_.model << "': a classifier needs at least 2 "
                                                << "outputs");
  model_ = nn::make_mlp({.widths = widths,
                         .activation = nn::parse_activation(o_.activation),
                         .dropout = static_cast<float>(o_.dropout),
                         .seed = o_.seed,
                         .dropout_seed = derive_seed(o_.seed, runtime.rank())});
  params_ = model_->parameters();

  DataShape shape{widths.front(), widths.back()};
  auto dataset = build_dataset("--data", o_.data, shape, o_.seed);
  if (!o_.val_data.empty()) {
    train_set_ = dataset;
    val_set_ = build_dataset("--val-data", o_.val_data, shape, o_.seed, dataset->size());
  } else {
    auto split = data::split_train_val(dataset, o_.val_fraction, o_.seed);
    train_set_ = split.train;
    val_set_ = split.val;
  }
  DDP_CHECK_ARG(train_set_->class_count() > 0 && train_set_->class_count() <= widths.back(),
                o_.data << " has " << train_set_->class_count() << " classes; the model has "
                        << widths.back() << " outputs");
  // ddp-train's datasets are in memory, so on the CPU a batch is one copy of its rows: cheaper in
  // this thread than handed over by the reader thread (4.7 against 18 us a step for the tutorial's
  // model at one rank; the same for MLP 784-1024-1024-10). On a GPU the reader thread also copies
  // each batch to the device, off this thread.
  const data::LoaderOptions loading{.prefetch = device_.is_cpu() ? 0 : 2, .device = device_};
  train_loader_ = std::make_unique<data::DataLoader>(
      train_set_,
      std::make_unique<data::GlobalBatchSampler>(
          train_set_->size(),
          data::GlobalBatchOptions{
              .global_batch_size = o_.batch_size, .shuffle = !o_.no_shuffle, .seed = o_.seed},
          runtime.rank(), runtime.world_size()),
      loading);
  if (val_set_->size() > 0) {
    val_loader_ = std::make_unique<data::DataLoader>(
        val_set_,
        std::make_unique<data::GlobalBatchSampler>(data::GlobalBatchSampler::for_evaluation(
            val_set_->size(), o_.batch_size, runtime.rank(), runtime.world_size())),
        loading);
  }

  if (!o_.init_params.empty()) io::import_parameters(params_, o_.init_params);
  // Rank 0 exports after training: a path it cannot write is refused now, on every rank at once.
  if (!o_.export_params.empty()) {
    const std::string obstacle = is_root_ ? io::export_obstacle(o_.export_params) : "";
    std::vector<double> refused{obstacle.empty() ? 0.0 : 1.0};
    sum_over_ranks(world_, refused);
    DDP_CHECK_ARG(refused[0] == 0, "--export-params " << o_.export_params << " cannot be written"
                                                      << (is_root_ ? " (" + obstacle + ")" : "")
                                                      << "; give a path in a writable folder");
  }
  // Before the optimizer, whose state follows the parameters, and DDP, whose buckets hold grads.
  model_->to(device_);
  if (!o_.checkpoint_dir.empty()) {
    checkpoints_.emplace(o_.checkpoint_dir, o_.keep_checkpoints);
    // A new run's rotation would delete them, or keep them and delete its own.
    const std::vector<std::filesystem::path> existing = checkpoints_->list();
    DDP_CHECK_ARG(o_.resume || existing.empty(),
                  "--checkpoint-dir " << o_.checkpoint_dir << " already holds " << existing.size()
                                      << " checkpoints (newest " << existing.back().string()
                                      << "); add --resume to continue that run, or give a new "
                                         "folder to start another");
  }
  // The parameters before DDP, which replicates rank 0's: a node's one shared copy of them (a
  // sharded optimizer's) then has one writer.
  const std::optional<io::LoadedCheckpoint> resumed = load_newest_parameters();
  const bool shard =
      o_.shard_optimizer == "on" ||
      (o_.shard_optimizer == "auto" && device_.is_cpu() && runtime.world_size() > 1 &&
       model_->parameter_count() >= kShardFromParameters);
  DDP_CHECK_ARG(!shard || device_.is_cpu(),
                "--shard-optimizer on shards CPU parameters only; "
                "on a GPU use auto or off");
  ddp_.emplace(*model_, gradient_group_,
               parallel::DdpOptions{
                   .bucket_cap_mb = o_.bucket_mb,
                   .grad_compression = parallel::parse_grad_compression(o_.grad_compression),
                   .sharded_optimizer = shard});
  if (shard) {
    auto sharded = std::make_unique<parallel::ShardedOptimizer>(
        *ddp_, [this](std::vector<nn::Parameter*> blocks) {
          return make_optimizer(o_, std::move(blocks));
        });
    sharded_ = sharded.get();
    optimizer_ = std::move(sharded);
  } else {
    optimizer_ = make_optimizer(o_, params_);
  }
  if (resumed) resume_from(*resumed);

  std::int64_t per_epoch = train_loader_->batches_per_epoch();
  total_steps_ = o_.epochs * per_epoch;
  if (o_.max_steps > 0) total_steps_ = std::min(total_steps_, o_.max_steps);
  if (resumed && step_ >= total_steps_ && is_root_) {
    DDP_INFO("the checkpoint is at step " << step_ << ", where --epochs and --max-steps end this "
                                          << "run (" << total_steps_
                                          << "): nothing to train; raise them to go on");
  }
  double base_lr = o_.lr_reference_batch > 0
                       ? optim::linear_scaled_lr(o_.lr, o_.batch_size, o_.lr_reference_batch)
                       : o_.lr;
  schedule_.emplace(optim::LrScheduleOptions{.kind = optim::parse_schedule_kind(o_.lr_schedule),
                                             .base_lr = base_lr,
                                             .warmup_steps = o_.warmup_steps,
                                             .step_size = std::max<std::int64_t>(per_epoch, 1),
                                             .total_steps = total_steps_});
}

std::optional<io::LoadedCheckpoint> Run::load_newest_parameters() {
  if (!o_.resume) return std::nullopt;
  std::optional<io::LoadedCheckpoint> loaded = checkpoints_->load_newest();
  if (!loaded) {
    DDP_INFO("no checkpoint in " << o_.checkpoint_dir << " yet: starting from the beginning");
    return std::nullopt;
  }
  io::load_model_state(loaded->checkpoint.model, *model_, loaded->file.string());
  return loaded;
}

void Run::resume_from(const io::LoadedCheckpoint& loaded) {
  const io::Checkpoint& checkpoint = loaded.checkpoint;
  std::string origin = loaded.file.string();
  // Before the state itself: an SGD without momentum saves none, which any optimizer would take.
  auto saved_optimizer = checkpoint.metadata.find("optimizer");
  DDP_CHECK_ARG(
      saved_optimizer == checkpoint.metadata.end() || saved_optimizer->second == o_.optimizer,
      origin << " was written with --optimizer " << saved_optimizer->second
             << "; resume it with the same, or give a new --checkpoint-dir to start "
                "afresh with --optimizer "
             << o_.optimizer);
  optimizer_->load_state(checkpoint.optimizer);
  step_ = checkpoint.step;
  position_ = {checkpoint.epoch, checkpoint.next_batch};
  DDP_CHECK_ARG(position_.next_batch <= train_loader_->batches_per_epoch(),
                origin << " stopped at batch " << position_.next_batch << " of epoch "
                       << position_.epoch + 1 << ", but an epoch of --data " << o_.data << " has "
                       << train_loader_->batches_per_epoch() << " batches of " << o_.batch_size
                       << "; resume with the data it was written with");
  auto saved_batch = checkpoint.metadata.find("batch_size");
  if (saved_batch != checkpoint.metadata.end() &&
      saved_batch->second != std::to_string(o_.batch_size)) {
    DDP_WARN(origin << " was written with --batch-size " << saved_batch->second
                    << "; resuming with " << o_.batch_size << " changes the batches that follow");
  }
  DDP_INFO("resuming from " << origin << " at step " << step_ << " (epoch " << position_.epoch + 1
                            << ", batch " << position_.next_batch << ")");
}

void Run::save_checkpoint() {
  if (!checkpoints_) return;
  // On every rank: a sharded optimizer gathers its state from all of them.
  std::vector<NamedTensor> optimizer_state = optimizer_->state();
  if (!is_root_) return;
  io::Checkpoint checkpoint;
  checkpoint.step = step_;
  data::SamplerState next = train_loader_->state();
  checkpoint.epoch = next.epoch;
  checkpoint.next_batch = next.next_batch;
  checkpoint.metadata = {{"model", o_.model},
                         {"optimizer", o_.optimizer},
                         {"batch_size", std::to_string(o_.batch_size)},
                         {"world_size", std::to_string(runtime_.world_size())},
                         {"seed", std::to_string(o_.seed)}};
  checkpoint.model = io::model_state(*model_);
  checkpoint.optimizer = std::move(optimizer_state);
  auto file = checkpoints_->save(checkpoint);
  DDP_DEBUG_LOG("wrote " << file.string());
}

void Run::report_progress() {
  const StopVotes mine = stop_votes();
  std::vector<double> window{window_loss_, static_cast<double>(window_steps_)};
  window.insert(window.end(), mine.begin(), mine.end());
  sum_over_ranks(world_, window);
  if (window_steps_ > 0) last_loss_ = window[0] / static_cast<double>(window_steps_);
  StopVotes votes;
  std::copy(window.begin() + 2, window.end(), votes.begin());
  if (!stopping()) stop_signal_ = stop_signal_name(votes);
  window_loss_ = 0;
  window_steps_ = 0;
  if (!is_root_) return;
  double samples_per_s = timed_steps_ > 0 ? static_cast<double>(timed_samples_) /
                                                std::chrono::duration<double>(timed_wall_).count()
                                          : 0;
  progress_->update(step_, last_loss_, samples_per_s, optimizer_->lr());
  metrics_.write(JsonLine("progress")
                     .add("step", step_)
                     .add("loss", last_loss_)
                     .add("lr", optimizer_->lr())
                     .add("samples_per_s", samples_per_s));
}

bool Run::reduced_gradients_finite() const {
  return sharded_ ? sharded_->gradients_finite() : gradients_finite(ddp_->reducer());
}

void Run::clip_gradients() {
  if (sharded_) {
    sharded_->clip_grad_norm(o_.grad_clip);
  } else {
    optim::clip_grad_norm(params_, o_.grad_clip);
  }
}

void Run::handle_non_finite(std::int64_t step, float loss) {
  ++nan_streak_;
  DDP_CHECK(
      o_.nan_policy == "skip" && nan_streak_ < o_.max_nan_steps,
      "step " << step + 1 << ": the gradients are not finite (loss " << loss << ")"
              << (o_.nan_policy == "skip" ? ", " + std::to_string(nan_streak_) + " steps in a row"
                                          : "")
              << "; lower --lr, add --grad-clip or check the data; the last checkpoint is "
              << "untouched");
  if (is_root_) {
    DDP_WARN("step " << step + 1 << ": the gradients are not finite (loss " << loss
                     << "); skipping the step (--nan-policy skip)");
  }
}

void Run::finish_epoch(std::int64_t epoch) {
  std::vector<double> sums{epoch_loss_, timed_.compute_ms, timed_.comm_ms, timed_.data_ms};
  sum_over_ranks(world_, sums);
  last_validation_ = validate(*model_, val_loader_.get(), world_);
  if (!is_root_) return;
  const double ranks = runtime_.world_size();
  const double steps = std::max<double>(static_cast<double>(timed_steps_), 1.0);
  StepTimes mean{sums[1] / ranks / steps, sums[2] / ranks / steps, sums[3] / ranks / steps};
  double train_loss = epoch_steps_ > 0 ? sums[0] / static_cast<double>(epoch_steps_) : 0;
  double samples_per_s = timed_steps_ > 0 ? static_cast<double>(timed_samples_) /
                                                std::chrono::duration<double>(timed_wall_).count()
                                          : 0;
  progress_->epoch_done(epoch, train_loss, last_validation_.loss, last_validation_.accuracy,
                        last_validation_.samples, samples_per_s, mean);
  JsonLine record("epoch");
  record.add("epoch", epoch + 1)
      .add("step", step_)
      .add("train_loss", train_loss)
      .add("samples_per_s", samples_per_s)
      .add("compute_ms", mean.compute_ms)
      .add("comm_ms", mean.comm_ms)
      .add("data_ms", mean.data_ms);
  if (last_validation_.samples > 0) {
    record.add("val_loss", last_validation_.loss).add("val_accuracy", last_validation_.accuracy);
  }
  metrics_.write(record);
}

void Run::execute() {
  parallel::DistributedDataParallel& ddp = *ddp_;
  nn::CrossEntropyLoss criterion;
  if (is_root_) {
    std::cout << "ddp-train: " << o_.model << ", " << model_->parameter_count() << " parameters, "
              << runtime_.world_size() << (runtime_.world_size() == 1 ? " rank" : " ranks")
              << " on " << describe_device(device_) << ", " << train_set_->size()
              << " training and " << val_set_->size() << " validation samples, global batch "
              << o_.batch_size << (sharded_ ? ", optimizer sharded over the ranks" : "")
              << (sharded_ && sharded_->shares_parameters() && runtime_.world_size() > 1
                      ? ", one copy of the parameters on the node"
                      : "")
              << std::endl;
    // Under mpirun a rank's output is a pseudo-terminal whatever mpirun's own is; the launchers
    // say which with DDP_OUTPUT_IS_A_TERMINAL, a fact rather than a setting, so that a --config
    // file's progress still outranks it.
    const bool terminal =
        isatty(STDOUT_FILENO) == 1 && env::get_bool("DDP_OUTPUT_IS_A_TERMINAL", true);
    const bool bar = o_.progress == "bar" || (o_.progress == "auto" && terminal);
    progress_.emplace(std::cout, total_steps_, bar);
  }

  std::int64_t steps_this_run = 0;
  Clock::time_point timing_start;
  for (std::int64_t epoch = position_.epoch; epoch < o_.epochs && step_ < total_steps_; ++epoch) {
    train_loader_->start_epoch(epoch, epoch == position_.epoch ? position_.next_batch : 0);
    epoch_loss_ = 0;
    epoch_steps_ = 0;
    while (step_ < total_steps_) {
      auto t0 = Clock::now();
      auto batch = train_loader_->next();
      auto t1 = Clock::now();
      if (!batch) break;
      optimizer_->set_lr(schedule_->lr_at(step_));
      reseed_dropout(*model_, o_.seed, step_, runtime_.rank());
      Tensor logits = ddp.forward(batch->features);
      float loss = criterion.forward(logits, batch->labels, batch->global_n);
      ddp.backward(criterion.backward());
      auto t2 = Clock::now();
      ddp.finish();
      auto t3 = Clock::now();
      if (reduced_gradients_finite()) {
        nan_streak_ = 0;
        if (o_.grad_clip > 0) clip_gradients();
        optimizer_->step();
      } else {
        handle_non_finite(step_, loss);
      }
      optimizer_->zero_grad();
      auto t4 = Clock::now();

      ++step_;
      ++steps_this_run;
      window_loss_ += loss;
      ++window_steps_;
      epoch_loss_ += loss;
      ++epoch_steps_;
      if (steps_this_run == kWarmupSteps) timing_start = t4;
      if (steps_this_run > kWarmupSteps) {
        timed_.compute_ms += milliseconds((t2 - t1) + (t4 - t3));
        timed_.comm_ms += milliseconds(t3 - t2);
        timed_.data_ms += milliseconds(t1 - t0);
        ++timed_steps_;
        timed_samples_ += batch->global_n;
        timed_wall_ = t4 - timing_start;
      }
      if (step_ % o_.log_every == 0) report_progress();
      if (stopping()) break;
      if (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0) save_checkpoint();
    }
    if (stopping()) break;
    finish_epoch(epoch);
  }
  if (!stopping()) report_progress();
  // A run that took no step (resumed at its end) has nothing to add, and its loader never reached
  // the checkpoint's place in the data: rewriting the checkpoint would lose that place.
  if (steps_this_run > 0) save_checkpoint();
  if (stopping() && is_root_) {
    std::cout << "stopped by " << stop_signal_ << " after step " << step_
              << (!checkpoints_        ? "; no --checkpoint-dir, so nothing was saved"
                  : steps_this_run > 0 ? "; checkpoint written, run again with --resume to continue"
                                       : "; no step was taken, the checkpoints are as they were")
              << std::endl;
  }
  if (is_root_ && !o_.export_params.empty()) io::export_parameters(params_, o_.export_params);
  if (!is_root_) return;
  double seconds = std::chrono::duration<double>(timed_wall_).count();
  double samples_per_s = timed_steps_ > 0 ? static_cast<double>(timed_samples_) / seconds : 0;
  double step_ms = timed_steps_ > 0 ? seconds * 1000 / static_cast<double>(timed_steps_) : 0;
  JsonLine summary("summary");
  summary.add("samples_per_s", samples_per_s)
      .add("step_ms", step_ms)
      .add("ranks", static_cast<std::int64_t>(runtime_.world_size()))
      .add("steps", step_)
      .add("final_loss", last_loss_)
      .add("params", model_->parameter_count())
      .add("stopped_early", static_cast<std::int64_t>(stopping()));
  if (last_validation_.samples > 0) {
    summary.add("val_accuracy", last_validation_.accuracy).add("val_loss", last_validation_.loss);
  }
  metrics_.write(summary);
  std::cout << "done: " << step_ << " steps, final loss " << last_loss_ << ", "
            << static_cast<std::int64_t>(samples_per_s) << " samples/s" << std::endl;
}

}  // namespace

void train(Runtime& runtime, const TrainOptions& options) {
  Run(runtime, options).execute();
}

}  // namespace ddp::train
