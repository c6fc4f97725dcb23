// A run's setup: model, data, DDP, optimizer, and what a checkpoint to resume from brings back.
#include <algorithm>
#include <filesystem>

#include "data_builder.hpp"
#include "ddp/core/log.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/split.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/tf32.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/sync_batch_norm.hpp"
#include "device_choice.hpp"
#include "run.hpp"

namespace ddp::train {
namespace {

// --shard-optimizer auto shards models from this size: below it, the barriers and the finiteness
// vote it adds to a step cost more than the optimizer work it saves (2 ranks sharing one copy of
// the parameters: 55 k parameters slower sharded, 118 k even, 270 k faster, 1.9 M 21 % faster).
constexpr std::int64_t kShardFromParameters = std::int64_t{1} << 18;

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                 std::vector<optim::ParamGroup> groups) {
  if (o.optimizer == OptimizerKind::adamw) {
    return std::make_unique<optim::Adamw>(
        std::move(groups), optim::AdamwOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  }
  return std::make_unique<optim::Sgd>(
      std::move(groups),
      optim::SgdOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
}

// --decay-matrices-only: nanoGPT's configure_optimizers groups, the parameters of 2 or more
// dimensions (weights of Linear and convolutions, embeddings) decayed, the rest (biases, norm
// weights) not. Otherwise one group, all decayed.
std::vector<optim::ParamGroup> parameter_groups(const TrainOptions& o,
                                                const std::vector<nn::Parameter*>& params) {
  if (!decays_matrices_only(o)) return {{params, std::nullopt}};
  optim::ParamGroup decayed{{}, std::nullopt};
  optim::ParamGroup not_decayed{{}, 0.0};
  for (nn::Parameter* param : params) {
    (param->value.ndim() >= 2 ? decayed : not_decayed).params.push_back(param);
  }
  return {std::move(decayed), std::move(not_decayed)};
}

}  // namespace

void sum_over_ranks(ProcessGroup& group, std::vector<double>& values) {
  Tensor t = Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())});
  group.all_reduce(t);
  values = t.to_vector<double>();
}

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
  // A family whose spec leaves its input open (cnn:, resnet:) takes the training data's sample
  // shape and classes; the synthetic task is made in the model's shape instead.
  std::shared_ptr<const data::TensorDataset> given_data;
  models::BuildOptions build{.seed = o_.seed,
                             .dropout_seed = derive_seed(o_.seed, runtime.rank()),
                             .activation = o_.activation,
                             .dropout = static_cast<float>(o_.dropout)};
  if (!is_synthetic(o_.data) && !is_text(o_.data)) {
    given_data = load_dataset("--data", o_.data, {}, o_.seed);
    build.sample_shape = given_data->sample_shape();
    build.classes = given_data->class_count();
  }
  model_ = models::build_model(o_.model, build);
  DDP_CHECK_ARG(model_.signature.classes >= 2,
                "--model '" << o_.model << "': a classifier needs at least 2 outputs");
  params_ = model_.module->parameters();
  const std::vector<nn::Module*> modules = model_.module->modules();
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (auto* dropout = dynamic_cast<nn::Dropout*>(modules[i])) dropouts_.emplace_back(i, dropout);
  }
  build_data(std::move(given_data));

  if (!o_.init_params.empty()) io::import_model(*model_.module, o_.init_params);
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
  model_.module->to(device_);
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
  build_parallel();
  if (resumed) resume_from(*resumed);
  build_schedule(resumed.has_value());
}

void Run::build_data(std::shared_ptr<const data::TensorDataset> given_data) {
  const DataShape shape{.sample = model_.signature.sample_shape,
                        .classes = model_.signature.classes,
                        .sequence = model_.signature.sequence,
                        .normalization = o_.normalize};
  auto dataset = given_data ? fit_to_model("--data", o_.data, std::move(given_data), shape)
                            : build_dataset("--data", o_.data, shape, o_.seed);
  if (!o_.val_data.empty()) {
    train_set_ = dataset;
    val_set_ = build_dataset("--val-data", o_.val_data, shape, o_.seed, dataset->size());
  } else {
    // Text holds out its end, a passage of its own; other sets a random choice of samples.
    auto split = is_text(o_.data) ? data::split_train_val_last(dataset, o_.val_fraction)
                                  : data::split_train_val(dataset, o_.val_fraction, o_.seed);
    train_set_ = split.train;
    val_set_ = split.val;
  }
  DDP_CHECK_ARG(train_set_->class_count() > 0 && train_set_->class_count() <= shape.classes,
                o_.data << " has " << train_set_->class_count() << " classes; the model has "
                        << shape.classes << " outputs");
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
          runtime_.rank(), runtime_.world_size()),
      loading);
  if (val_set_->size() > 0) {
    val_loader_ = std::make_unique<data::DataLoader>(
        val_set_,
        std::make_unique<data::GlobalBatchSampler>(data::GlobalBatchSampler::for_evaluation(
            val_set_->size(), o_.batch_size, runtime_.rank(), runtime_.world_size())),
        loading);
  }
}

void Run::build_parallel() {
  const bool shard =
      o_.shard_optimizer == ShardOptimizer::on ||
      (o_.shard_optimizer == ShardOptimizer::automatic && device_.is_cpu() &&
       runtime_.world_size() > 1 && model_.module->parameter_count() >= kShardFromParameters);
  DDP_CHECK_ARG(!shard || device_.is_cpu(),
                "--shard-optimizer on shards CPU parameters only; on a GPU use auto or off");
  if (o_.sync_bn && parallel::convert_sync_batchnorm(*model_.module, gradient_group_) == 0 &&
      runtime_.rank() == 0) {
    DDP_WARN("--sync-bn: the model has no BatchNorm layer; nothing to synchronise");
  }
  ddp_.emplace(*model_.module, gradient_group_,
               parallel::DdpOptions{.bucket_cap_mb = o_.bucket_mb,
                                    .grad_compression = o_.grad_compression,
                                    .sharded_optimizer = shard,
                                    .broadcast_buffers = !o_.no_broadcast_buffers});
  const std::vector<optim::ParamGroup> groups = parameter_groups(o_, params_);
  if (shard) {
    auto sharded = std::make_unique<parallel::ShardedOptimizer>(
        *ddp_,
        [this](std::vector<optim::ParamGroup> blocks) {
          return make_optimizer(o_, std::move(blocks));
        },
        groups);
    sharded_ = sharded.get();
    optimizer_ = std::move(sharded);
  } else {
    optimizer_ = make_optimizer(o_, groups);
  }
}

std::optional<io::LoadedCheckpoint> Run::load_newest_parameters() {
  if (!o_.resume) return std::nullopt;
  std::optional<io::LoadedCheckpoint> loaded = checkpoints_->load_newest();
  if (!loaded) {
    DDP_INFO("no checkpoint in " << o_.checkpoint_dir << " yet: starting from the beginning");
    return std::nullopt;
  }
  io::load_model_state(loaded->checkpoint.model, *model_.module, loaded->file.string());
  return loaded;
}

void Run::resume_from(const io::LoadedCheckpoint& loaded) {
  const io::Checkpoint& checkpoint = loaded.checkpoint;
  std::string origin = loaded.file.string();
  // Before the state itself: an SGD without momentum saves none, which any optimizer would take.
  auto saved_optimizer = checkpoint.metadata.find("optimizer");
  DDP_CHECK_ARG(saved_optimizer == checkpoint.metadata.end() ||
                    saved_optimizer->second == to_string(o_.optimizer),
                origin << " was written with --optimizer " << saved_optimizer->second
                       << "; resume it with the same, or give a new --checkpoint-dir to start "
                          "afresh with --optimizer "
                       << to_string(o_.optimizer));
  optimizer_->load_state(checkpoint.optimizer);
  step_ = checkpoint.step;
  position_ = {checkpoint.epoch, checkpoint.next_batch};
  DDP_CHECK_ARG(position_.next_batch <= train_loader_->batches_per_epoch(),
                origin << " stopped at batch " << position_.next_batch << " of epoch "
                       << position_.epoch + 1 << ", but an epoch of --data " << o_.data << " has "
                       << train_loader_->batches_per_epoch() << " batches of " << o_.batch_size
                       << "; resume with the data it was written with");
  auto saved_accum = checkpoint.metadata.find("grad_accum");
  const std::string accum = saved_accum == checkpoint.metadata.end() ? "1" : saved_accum->second;
  if (accum != std::to_string(o_.grad_accum)) {
    DDP_WARN(origin << " was written with --grad-accum " << accum << "; resuming with "
                    << o_.grad_accum << " changes the steps that follow and what a step counts");
  }
  auto saved_batch = checkpoint.metadata.find("batch_size");
  if (saved_batch != checkpoint.metadata.end() &&
      saved_batch->second != std::to_string(o_.batch_size)) {
    DDP_WARN(origin << " was written with --batch-size " << saved_batch->second
                    << "; resuming with " << o_.batch_size << " changes the batches that follow");
  }
  DDP_INFO("resuming from " << origin << " at step " << step_ << " (epoch " << position_.epoch + 1
                            << ", batch " << position_.next_batch << ")");
}

std::int64_t Run::steps_per_epoch() const {
  return (train_loader_->batches_per_epoch() + o_.grad_accum - 1) / o_.grad_accum;
}

void Run::build_schedule(bool resumed) {
  const std::int64_t per_epoch = steps_per_epoch();
  total_steps_ = o_.epochs * per_epoch;
  if (o_.max_steps > 0) total_steps_ = std::min(total_steps_, o_.max_steps);
  if (resumed && step_ >= total_steps_ && is_root_ && !o_.evaluate) {
    DDP_INFO("the checkpoint is at step " << step_ << ", where --epochs and --max-steps end this "
                                          << "run (" << total_steps_
                                          << "): nothing to train; raise them to go on");
  }
  // The batch of a step: its micro-batches together.
  const double base_lr =
      o_.lr_reference_batch > 0
          ? optim::linear_scaled_lr(o_.lr, o_.batch_size * o_.grad_accum, o_.lr_reference_batch)
          : o_.lr;
  schedule_.emplace(optim::LrScheduleOptions{.kind = o_.lr_schedule,
                                             .base_lr = base_lr,
                                             .warmup_steps = o_.warmup_steps,
                                             .step_size = std::max<std::int64_t>(per_epoch, 1),
                                             .total_steps = total_steps_});
}

}  // namespace ddp::train
