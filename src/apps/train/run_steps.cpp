// The step loop: forward, backward and the gradients' all-reduce through DDP, the optimizer step
// (or a skipped one), checkpoints, and where a stop request ends the run.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "ddp/core/log.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/reduce.hpp"
#include "ddp/kernels/step_totals.hpp"
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
  if (device_.is_cuda()) {
    step_totals_ = kernels::make_step_totals(device_);
    non_finite_flag_ = Tensor::zeros({1}, DType::float32, device_);
    optimizer_->set_skip_flag(non_finite_flag_);
  }
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
      const std::vector<data::Batch> micro_batches = next_micro_batches();
      const Clock::time_point loaded = Clock::now();
      if (micro_batches.empty()) break;
      train_one_step(micro_batches, loaded, asked);
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

std::vector<data::Batch> Run::next_micro_batches() {
  std::vector<data::Batch> micro_batches;
  while (static_cast<std::int64_t>(micro_batches.size()) < o_.grad_accum) {
    std::optional<data::Batch> batch = train_loader_->next();
    if (!batch) break;
    micro_batches.push_back(std::move(*batch));
  }
  return micro_batches;
}

void Run::train_one_step(const std::vector<data::Batch>& micro_batches, Clock::time_point loaded,
                         Clock::time_point asked) {
  parallel::DistributedDataParallel& ddp = *ddp_;
  const std::int64_t waits_before = kernels::cuda_host_waits();
  optimizer_->set_lr(schedule_->lr_at(step_));
  // Every micro-batch's loss over the whole step's count (the same on every rank): the summed
  // gradients are then those of the mean over the step's samples, or tokens. An epoch's last step
  // may have fewer micro-batches: its count is theirs.
  std::int64_t step_samples = 0;
  for (const data::Batch& batch : micro_batches) step_samples += batch.global_n;
  const std::int64_t predictions_per_sample = std::max<std::int64_t>(model_.signature.sequence, 1);
  const std::int64_t normalizer = step_samples * predictions_per_sample;
  float loss = 0;
  const auto forward_backward = [&](const data::Batch& batch, std::size_t micro) {
    // Dropout masks from (seed, step, micro-batch, rank): a resumed run draws exactly the masks it
    // would have.
    const auto position_in_run =
        static_cast<std::uint64_t>(step_ * o_.grad_accum + static_cast<std::int64_t>(micro));
    for (const auto& [position, dropout] : dropouts_) {
      const std::uint64_t stream = (position_in_run << 20) ^ (position << 12) ^ runtime_.rank();
      dropout->generator().set_state(Generator(derive_seed(o_.seed, stream)).state());
    }
    Tensor logits = ddp.forward(models::as_model_input(batch.features, model_.signature));
    // On a GPU the loss stays there, in the step totals: the step does not wait for it.
    if (step_totals_.defined()) {
      criterion_.forward_into(logits, batch.labels, normalizer, step_totals_);
    } else {
      loss += criterion_.forward(logits, batch.labels, normalizer);
    }
    ddp.backward(criterion_.backward());
  };
  for (std::size_t m = 0; m + 1 < micro_batches.size(); ++m) {
    auto local_only = ddp.no_sync();  // one all-reduce per step: in the last micro-batch's backward
    forward_backward(micro_batches[m], m);
  }
  forward_backward(micro_batches.back(), micro_batches.size() - 1);
  const Clock::time_point computed = Clock::now();
  ddp.finish();
  const Clock::time_point reduced = Clock::now();
  if (step_totals_.defined()) {
    step_with_device_verdict();
  } else if (reduced_gradients_finite()) {
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
  if (steps_this_run_ == kWarmupSteps) {
    // A GPU's queue drained first: the warm-up's work is not timed (one wait, not in the count).
    if (device_.is_cuda()) kernels::cuda_synchronize(device_.index);
    timing_start_ = Clock::now();
  }
  if (steps_this_run_ > kWarmupSteps) {
    timed_.compute_ms += milliseconds((computed - loaded) + (stepped - reduced));
    timed_.comm_ms += milliseconds(reduced - computed);
    timed_.data_ms += milliseconds(loaded - asked);
    ++timed_steps_;
    timed_host_waits_ += kernels::cuda_host_waits() - waits_before;
    timed_samples_ += step_samples;
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
                         {"grad_accum", std::to_string(o_.grad_accum)},
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

void Run::step_with_device_verdict() {
  non_finite_flag_.zero_();
  for (const Tensor& bucket : ddp_->reducer().gradient_buckets()) {
    kernels::mark_non_finite(bucket, non_finite_flag_);
  }
  kernels::record_step_verdict(non_finite_flag_, step_, step_totals_);
  // The norm comes back to the host: --grad-clip costs one wait per step.
  if (o_.grad_clip > 0) clip_gradients();
  optimizer_->step();  // nothing on the device when the flag is set
}

void Run::read_step_totals() {
  if (!step_totals_.defined()) return;
  const std::vector<double> totals = step_totals_.to_vector<double>();
  // The read waited for every step issued so far: the timed wall now ends where the GPU did.
  if (timed_steps_ > 0) timed_wall_ = Clock::now() - timing_start_;
  window_loss_ += totals[kernels::kLossSum];
  epoch_loss_ += totals[kernels::kLossSum];
  DDP_CHECK(totals[kernels::kBadTargets] == 0,
            totals[kernels::kBadTargets]
                << " cross-entropy targets of the steps up to step " << step_
                << " were outside [0, classes); check the labels against the classes");
  if (totals[kernels::kNonFiniteSteps] > 0) handle_non_finite_steps(totals);
  // A run of non-finite steps goes on across reads.
  std::vector<double> fresh(kernels::kStepTotals, 0.0);
  fresh[kernels::kNanStreak] = totals[kernels::kNanStreak];
  fresh[kernels::kLongestNanStreak] = totals[kernels::kNanStreak];
  fresh[kernels::kFirstNonFiniteStep] = -1;
  step_totals_.copy_(Tensor::from_vector(fresh, {kernels::kStepTotals}));
}

void Run::handle_non_finite_steps(const std::vector<double>& totals) {
  const auto first = static_cast<std::int64_t>(totals[kernels::kFirstNonFiniteStep]) + 1;
  const auto count = static_cast<std::int64_t>(totals[kernels::kNonFiniteSteps]);
  const auto longest = static_cast<std::int64_t>(totals[kernels::kLongestNanStreak]);
  const bool skip = o_.nan_policy == NanPolicy::skip;
  DDP_CHECK(skip && longest < o_.max_nan_steps,
            "step " << first << ": the gradients are not finite"
                    << (skip ? ", " + std::to_string(longest) + " steps in a row" : "")
                    << "; the GPU skipped " << count << " step(s) up to step " << step_
                    << ", where the run ends; lower --lr, add --grad-clip or check the data; the "
                    << "last checkpoint is untouched");
  if (is_root_) {
    DDP_WARN(count << " step(s) up to step " << step_ << ", the first step " << first
                   << ", had non-finite gradients and were skipped (--nan-policy skip)");
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
