// The step loop: forward, backward and the gradients' all-reduce through DDP, the optimizer step
// (or a skipped one), checkpoints, and where a stop request ends the run.
#include <cmath>
#include <iostream>

#include "ddp/core/log.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/reduce.hpp"
#include "ddp/models/model_input.hpp"
#include "ddp/optim/clip.hpp"
#include "run.hpp"
#include "trainer.hpp"

namespace ddp::train {
namespace {

double milliseconds(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

// After the all-reduce every rank holds the same gradients, so every rank reaches the same verdict
// without talking. One reduction per bucket rather than per parameter: on a GPU each is a wait.
bool gradients_finite(const parallel::Reducer& reducer) {
  for (const Tensor& bucket : reducer.gradient_buckets()) {
    if (!std::isfinite(kernels::squared_norm(bucket))) return false;
  }
  return true;
}

}  // namespace

void train(Runtime& runtime, const TrainOptions& options) {
  Run(runtime, options).execute();
}

void Run::execute() {
  print_start();
  if (o_.evaluate) {
    last_validation_ = validate(model_, val_loader_.get(), world_);
    print_evaluation();
    return;
  }
  for (std::int64_t epoch = position_.epoch; epoch < o_.epochs && step_ < total_steps_; ++epoch) {
    train_loader_->start_epoch(epoch, epoch == position_.epoch ? position_.next_batch : 0);
    epoch_loss_ = 0;
    epoch_steps_ = 0;
    while (step_ < total_steps_) {
      const Clock::time_point asked = Clock::now();
      std::optional<data::Batch> batch = train_loader_->next();
      const Clock::time_point loaded = Clock::now();
      if (!batch) break;
      train_one_step(*batch, loaded, asked);
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
  if (steps_this_run_ > 0) save_checkpoint();
  if (stopping() && is_root_) {
    progress_->end_line();
    std::cout << "stopped by " << stop_signal_ << " after step " << step_
              << (!checkpoints_         ? "; no --checkpoint-dir, so nothing was saved"
                  : steps_this_run_ > 0 ? "; checkpoint written, run again with --resume to "
                                          "continue"
                                        : "; no step was taken, the checkpoints are as they were")
              << std::endl;
  }
  if (is_root_ && !o_.export_params.empty()) {
    io::export_model(*model_.module, o_.export_params, {{"model", o_.model}});
  }
  print_summary();
}

void Run::train_one_step(const data::Batch& batch, Clock::time_point loaded,
                         Clock::time_point asked) {
  parallel::DistributedDataParallel& ddp = *ddp_;
  optimizer_->set_lr(schedule_->lr_at(step_));
  // Dropout masks from (seed, step, rank): a resumed run draws exactly the masks it would have.
  for (const auto& [position, dropout] : dropouts_) {
    const std::uint64_t stream =
        (static_cast<std::uint64_t>(step_) << 20) ^ (position << 12) ^ runtime_.rank();
    dropout->generator().set_state(Generator(derive_seed(o_.seed, stream)).state());
  }
  Tensor logits = ddp.forward(models::as_model_input(batch.features, model_.signature));
  const float loss = criterion_.forward(logits, batch.labels, batch.global_n);
  ddp.backward(criterion_.backward());
  const Clock::time_point computed = Clock::now();
  ddp.finish();
  const Clock::time_point reduced = Clock::now();
  if (reduced_gradients_finite()) {
    nan_streak_ = 0;
    if (o_.grad_clip > 0) clip_gradients();
    optimizer_->step();
  } else {
    handle_non_finite(step_, loss);
  }
  optimizer_->zero_grad();
  const Clock::time_point stepped = Clock::now();

  ++step_;
  ++steps_this_run_;
  window_loss_ += loss;
  ++window_steps_;
  epoch_loss_ += loss;
  ++epoch_steps_;
  if (steps_this_run_ == kWarmupSteps) timing_start_ = stepped;
  if (steps_this_run_ > kWarmupSteps) {
    timed_.compute_ms += milliseconds((computed - loaded) + (stepped - reduced));
    timed_.comm_ms += milliseconds(reduced - computed);
    timed_.data_ms += milliseconds(loaded - asked);
    ++timed_steps_;
    timed_samples_ += batch.global_n;
    timed_wall_ = stepped - timing_start_;
  }
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
                         {"optimizer", to_string(o_.optimizer)},
                         {"batch_size", std::to_string(o_.batch_size)},
                         {"world_size", std::to_string(runtime_.world_size())},
                         {"seed", std::to_string(o_.seed)}};
  checkpoint.model = io::model_state(*model_.module);
  checkpoint.optimizer = std::move(optimizer_state);
  auto file = checkpoints_->save(checkpoint);
  DDP_DEBUG_LOG("wrote " << file.string());
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
  const bool skip = o_.nan_policy == NanPolicy::skip;
  DDP_CHECK(skip && nan_streak_ < o_.max_nan_steps,
            "step " << step + 1 << ": the gradients are not finite (loss " << loss << ")"
                    << (skip ? ", " + std::to_string(nan_streak_) + " steps in a row" : "")
                    << "; lower --lr, add --grad-clip or check the data; the last checkpoint is "
                    << "untouched");
  if (is_root_) {
    DDP_WARN("step " << step + 1 << ": the gradients are not finite (loss " << loss
                     << "); skipping the step (--nan-policy skip)");
  }
}

}  // namespace ddp::train
