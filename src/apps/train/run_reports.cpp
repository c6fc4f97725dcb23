// What a run tells: its first line, progress, validation, the epoch lines and the summary, on rank
// 0's output and in the --metrics-out file.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "ddp/core/env.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/models/model_input.hpp"
#include "device_choice.hpp"
#include "run.hpp"
#include "stop_signal.hpp"

namespace ddp::train {

ValidationResult validate(models::Model& model, data::DataLoader* loader, ProcessGroup& group) {
  if (loader == nullptr) return {};
  nn::CrossEntropyLoss criterion;
  std::vector<double> sums(4, 0.0);  // loss sum, correct, predictions, samples
  model.module->eval();
  loader->start_epoch(0);
  while (auto batch = loader->next()) {
    Tensor logits = model.module->forward(models::as_model_input(batch->features, model.signature));
    sums[0] += criterion.forward(logits, batch->labels, 1);
    // Predictions are counted on the host (from a GPU: one read-back per validation batch). A row
    // of logits is one prediction: a sample's, or a token's for a language model.
    const std::vector<float> scores = logits.to_vector<float>();
    const std::vector<std::int64_t> labels = batch->labels.to_vector<std::int64_t>();
    const float* row = scores.data();
    const std::int64_t classes = logits.shape().back();
    for (std::size_t i = 0; i < labels.size(); ++i, row += classes) {
      std::int64_t predicted = std::max_element(row, row + classes) - row;
      sums[1] += predicted == labels[i];
    }
    sums[2] += static_cast<double>(labels.size());
    sums[3] += static_cast<double>(batch->local_n);
  }
  model.module->train();
  sum_over_ranks(group, sums);
  if (sums[3] == 0) return {};
  ValidationResult result{sums[0] / sums[2], sums[1] / sums[2], static_cast<std::int64_t>(sums[3])};
  // Text's tokens are bytes: nats per token over ln 2 are bits per byte.
  if (model.signature.sequence > 0) result.bits_per_byte = result.loss / std::log(2.0);
  return result;
}

void Run::print_start() {
  if (!is_root_) return;
  std::cout << "ddp-train: " << o_.model << ", " << model_.module->parameter_count()
            << " parameters, " << runtime_.world_size()
            << (runtime_.world_size() == 1 ? " rank" : " ranks") << " on "
            << describe_device(device_) << ", " << train_set_->size() << " training and "
            << val_set_->size() << " validation samples, global batch " << o_.batch_size
            << (o_.grad_accum > 1 ? " x " + std::to_string(o_.grad_accum) + " micro-batches a step"
                                  : "")
            << (decays_matrices_only(o_) && o_.weight_decay > 0 ? ", weight decay on matrices only"
                                                                : "")
            << (sharded_ ? ", optimizer sharded over the ranks" : "")
            << (sharded_ && sharded_->shares_parameters() && runtime_.world_size() > 1
                    ? ", one copy of the parameters on the node"
                    : "")
            << std::endl;
  // Under mpirun a rank's output is a pseudo-terminal whatever mpirun's own is; the launchers
  // say which with DDP_OUTPUT_IS_A_TERMINAL, a fact rather than a setting, so that a --config
  // file's progress still outranks it.
  const bool terminal =
      isatty(STDOUT_FILENO) == 1 && env::get_bool("DDP_OUTPUT_IS_A_TERMINAL", true);
  const bool bar =
      o_.progress == ProgressMode::bar || (o_.progress == ProgressMode::automatic && terminal);
  progress_.emplace(std::cout, total_steps_, bar);
}

double Run::samples_per_second() const {
  if (timed_steps_ == 0) return 0;
  return static_cast<double>(timed_samples_) / std::chrono::duration<double>(timed_wall_).count();
}

void Run::report_progress() {
  read_step_totals();
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
  progress_->update(step_, last_loss_, samples_per_second(), optimizer_->lr());
  metrics_.write(JsonLine("progress")
                     .add("step", step_)
                     .add("loss", last_loss_)
                     .add("lr", optimizer_->lr())
                     .add("samples_per_s", samples_per_second()));
}

void Run::finish_epoch(std::int64_t epoch) {
  read_step_totals();
  std::vector<double> sums{epoch_loss_, timed_.compute_ms, timed_.comm_ms, timed_.data_ms};
  sum_over_ranks(world_, sums);
  last_validation_ = validate(model_, val_loader_.get(), world_);
  if (!is_root_) return;
  const double ranks = runtime_.world_size();
  const double steps = std::max<double>(static_cast<double>(timed_steps_), 1.0);
  StepTimes mean{sums[1] / ranks / steps, sums[2] / ranks / steps, sums[3] / ranks / steps};
  if (device_.is_cuda()) {
    // This rank's, in the steps themselves (the loader's thread counted, reports left out).
    mean.host_waits = static_cast<double>(timed_host_waits_) / steps;
  }
  double train_loss = epoch_steps_ > 0 ? sums[0] / static_cast<double>(epoch_steps_) : 0;
  progress_->epoch_done(epoch, train_loss, last_validation_, samples_per_second(), mean);
  JsonLine record("epoch");
  record.add("epoch", epoch + 1)
      .add("step", step_)
      .add("train_loss", train_loss)
      .add("samples_per_s", samples_per_second())
      .add("compute_ms", mean.compute_ms)
      .add("comm_ms", mean.comm_ms)
      .add("data_ms", mean.data_ms);
  if (mean.host_waits >= 0) record.add("host_waits_per_step", mean.host_waits);
  if (last_validation_.samples > 0) {
    record.add("val_loss", last_validation_.loss).add("val_accuracy", last_validation_.accuracy);
    if (last_validation_.bits_per_byte >= 0) {
      record.add("val_bits_per_byte", last_validation_.bits_per_byte);
    }
  }
  metrics_.write(record);
}

void Run::print_evaluation() {
  if (!is_root_) return;
  JsonLine record("evaluation");
  record.add("params", model_.module->parameter_count())
      .add("ranks", static_cast<std::int64_t>(runtime_.world_size()))
      .add("val_samples", last_validation_.samples);
  if (last_validation_.samples == 0) {
    std::cout << "evaluation: no validation samples (--val-data or --val-fraction give some)"
              << std::endl;
  } else {
    record.add("val_loss", last_validation_.loss).add("val_accuracy", last_validation_.accuracy);
    if (last_validation_.bits_per_byte >= 0) {
      record.add("val_bits_per_byte", last_validation_.bits_per_byte);
    }
    std::cout << "evaluation: val loss " << last_validation_.loss
              << (last_validation_.bits_per_byte >= 0 ? " per token" : "");
    if (last_validation_.bits_per_byte >= 0) {
      std::cout << "  " << last_validation_.bits_per_byte << " bits/byte";
    }
    std::cout << "  val accuracy " << 100.0 * last_validation_.accuracy << "% ("
              << last_validation_.samples << " samples)" << std::endl;
  }
  metrics_.write(record);
}

void Run::print_summary() {
  if (!is_root_) return;
  const double seconds = std::chrono::duration<double>(timed_wall_).count();
  const double step_ms = timed_steps_ > 0 ? seconds * 1000 / static_cast<double>(timed_steps_) : 0;
  JsonLine summary("summary");
  summary.add("samples_per_s", samples_per_second())
      .add("step_ms", step_ms)
      .add("ranks", static_cast<std::int64_t>(runtime_.world_size()))
      .add("steps", step_)
      .add("final_loss", last_loss_)
      .add("params", model_.module->parameter_count())
      .add("stopped_early", static_cast<std::int64_t>(stopping()));
  if (last_validation_.samples > 0) {
    summary.add("val_accuracy", last_validation_.accuracy).add("val_loss", last_validation_.loss);
    if (last_validation_.bits_per_byte >= 0) {
      summary.add("val_bits_per_byte", last_validation_.bits_per_byte);
    }
  }
  metrics_.write(summary);
  progress_->end_line();
  std::cout << "done: " << step_ << " steps, final loss " << last_loss_ << ", "
            << static_cast<std::int64_t>(samples_per_second()) << " samples/s" << std::endl;
}

}  // namespace ddp::train
