#include "train_options.hpp"

#include <charconv>
#include <cmath>
#include <vector>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "library_choices.hpp"

namespace ddp::train {
namespace {

namespace po = boost::program_options;
using cli::Choice;

const std::vector<Choice<OptimizerKind>> kOptimizers{{"sgd", OptimizerKind::sgd},
                                                     {"adamw", OptimizerKind::adamw}};

// --normalize MEAN,STD: two finite numbers, STD positive.
data::Normalization parse_normalization(const std::string& text) {
  data::Normalization n;
  const std::size_t comma = text.find(',');
  const std::string mean = text.substr(0, comma);
  const std::string std = comma == std::string::npos ? "" : text.substr(comma + 1);
  const auto parse = [](const std::string& field, double& value) {
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    return ec == std::errc() && end == field.data() + field.size() && std::isfinite(value);
  };
  DDP_CHECK_ARG(parse(mean, n.mean) && parse(std, n.std) && n.std > 0,
                "--normalize '" << text << "' must be MEAN,STD: two finite numbers, STD positive "
                                << "(0.2860,0.3530 for Fashion-MNIST)");
  return n;
}

void check_options(const TrainOptions& o) {
  DDP_CHECK_ARG(o.max_nan_steps >= 1, "--max-nan-steps must be at least 1");
  DDP_CHECK_ARG(o.dropout >= 0 && o.dropout < 1, "--dropout " << o.dropout << " must be in [0, 1)");
  DDP_CHECK_ARG(o.val_fraction >= 0 && o.val_fraction < 1,
                "--val-fraction " << o.val_fraction << " must be in [0, 1)");
  DDP_CHECK_ARG(o.batch_size > 0, "--batch-size must be at least 1, got " << o.batch_size);
  DDP_CHECK_ARG(o.epochs > 0, "--epochs must be at least 1, got " << o.epochs);
  DDP_CHECK_ARG(o.max_steps >= 0, "--max-steps must be 0 (no limit) or more, got " << o.max_steps);
  DDP_CHECK_ARG(o.lr > 0 && std::isfinite(o.lr), "--lr must be positive and finite, got " << o.lr);
  DDP_CHECK_ARG(o.momentum >= 0 && o.momentum < 1,
                "--momentum " << o.momentum << " must be in [0, 1)");
  DDP_CHECK_ARG(o.weight_decay >= 0 && std::isfinite(o.weight_decay),
                "--weight-decay must be finite and not negative, got " << o.weight_decay);
  DDP_CHECK_ARG(o.warmup_steps >= 0, "--warmup-steps must not be negative");
  DDP_CHECK_ARG(o.lr_reference_batch >= 0, "--lr-reference-batch must not be negative");
  DDP_CHECK_ARG(o.grad_clip >= 0 && std::isfinite(o.grad_clip),
                "--grad-clip must be 0 (off) or positive and finite, got " << o.grad_clip);
  DDP_CHECK_ARG(o.threads >= 0, "--threads must be 0 (automatic) or more, got " << o.threads);
  parallel::check_bucket_cap_mb(o.bucket_mb, "--bucket-mb");
  DDP_CHECK_ARG(o.checkpoint_every >= 0, "--checkpoint-every must not be negative");
  DDP_CHECK_ARG(o.keep_checkpoints >= 1, "--keep-checkpoints must be at least 1");
  DDP_CHECK_ARG(o.grad_accum >= 1, "--grad-accum must be at least 1, got " << o.grad_accum);
  DDP_CHECK_ARG(o.log_every >= 1, "--log-every must be at least 1, got " << o.log_every);
  DDP_CHECK_ARG(!o.resume || !o.checkpoint_dir.empty(), "--resume needs --checkpoint-dir");
  DDP_CHECK_ARG(o.checkpoint_every == 0 || !o.checkpoint_dir.empty(),
                "--checkpoint-every needs --checkpoint-dir");
  DDP_CHECK_ARG(!o.evaluate || !o.init_params.empty() || o.resume,
                "--evaluate needs parameters to evaluate: --init-params FILE or --resume");
}

}  // namespace

std::string to_string(OptimizerKind kind) {
  return cli::choice_name(kind, kOptimizers);
}

bool decays_matrices_only(const TrainOptions& options) {
  return options.decay_matrices_only.value_or(options.model.rfind("gpt:", 0) == 0);
}

std::optional<TrainOptions> parse_train_options(int argc, char** argv, ProcessGroup& ranks) {
  TrainOptions o;
  po::options_description model("Model");
  auto add = model.add_options();
  std::string families;
  for (const std::string& usage : models::family_usages()) {
    families += (families.empty() ? "" : "; ") + usage;
  }
  add("model", cli::value_with_default(&o.model), families.c_str());
  add("activation", cli::choice(&o.activation, "activation", cli::kActivations),
      "relu, gelu or tanh");
  add("dropout", cli::value_with_default(&o.dropout), "after each hidden activation");

  po::options_description data("Data");
  add = data.add_options();
  add("data", cli::value_with_default(&o.data),
      "synthetic[:N], csv:PATH, idx:IMAGES,LABELS (plain or .gz), fashion-mnist[:train|:test], "
      "text:PATH[,PATH...] (bytes as tokens, for a language model) or text:fortunes");
  const auto normalize = [&o](const std::string& text) { o.normalize = parse_normalization(text); };
  add("normalize", po::value<std::string>()->notifier(normalize),
      "MEAN,STD: features become (x - MEAN) / STD (images after scaling to [0, 1])");
  add("val-fraction", cli::value_with_default(&o.val_fraction),
      "share of --data held out for validation (0 allowed)");
  add("val-data", po::value(&o.val_data), "a separate validation set, same forms as --data");
  add("batch-size", cli::value_with_default(&o.batch_size), "global batch: all ranks together");
  add("epochs", cli::value_with_default(&o.epochs), "passes over the training data");
  add("max-steps", cli::value_with_default(&o.max_steps),
      "stop after this many steps (0: no limit)");
  add("seed", cli::value_with_default(&o.seed), "seed of data, weights and shuffle");
  add("no-shuffle", po::bool_switch(&o.no_shuffle), "visit samples in dataset order");
  add("evaluate", po::bool_switch(&o.evaluate),
      "validate the --init-params or resumed parameters, train nothing");

  po::options_description optimisation("Optimisation");
  add = optimisation.add_options();
  add("optimizer", cli::choice(&o.optimizer, "optimizer", kOptimizers), "sgd or adamw");
  add("lr", cli::value_with_default(&o.lr), "learning rate");
  add("momentum", cli::value_with_default(&o.momentum), "sgd momentum");
  add("weight-decay", cli::value_with_default(&o.weight_decay), "weight decay");
  const auto matrices_only = [&o](bool on) { o.decay_matrices_only = on; };
  add("decay-matrices-only", po::value<bool>()->implicit_value(true)->notifier(matrices_only),
      "weight decay on parameters of 2+ dimensions only, not biases or norms (default: on for "
      "gpt:, else off; =false turns it off)");
  add("grad-accum", cli::value_with_default(&o.grad_accum),
      "micro-batches of --batch-size per optimizer step (one all-reduce per step)");
  add("lr-schedule", cli::choice(&o.lr_schedule, "lr-schedule", cli::kSchedules),
      "constant, step or cosine");
  add("warmup-steps", cli::value_with_default(&o.warmup_steps), "linear warmup steps");
  add("lr-reference-batch", cli::value_with_default(&o.lr_reference_batch),
      "scale lr by batch-size / this (0: off)");
  add("grad-clip", cli::value_with_default(&o.grad_clip), "max global gradient norm (0: off)");
  add("nan-policy",
      cli::choice(&o.nan_policy, "nan-policy",
                  {{"skip", NanPolicy::skip}, {"stop", NanPolicy::stop}}),
      "non-finite gradients: skip the step or stop");
  add("max-nan-steps", cli::value_with_default(&o.max_nan_steps),
      "skip: stop after this many in a row");

  po::options_description parallel("Parallelism and devices");
  add = parallel.add_options();
  add("backend", cli::choice(&o.backend, "backend", cli::kBackends), "auto, mpi or nccl");
  add("device",
      cli::choice(&o.device, "device",
                  {{"auto", DeviceRequest::automatic},
                   {"cpu", DeviceRequest::cpu},
                   {"cuda", DeviceRequest::cuda}}),
      "auto, cpu or cuda");
  add("tf32", po::bool_switch(&o.tf32), "GPU GEMMs in TF32 (10-bit mantissa inputs)");
  add("threads", cli::value_with_default(&o.threads),
      "compute threads per rank (0: cores / local ranks)");
  add("bucket-mb", cli::value_with_default(&o.bucket_mb), "gradient bucket cap");
  add("grad-compression",
      cli::choice(&o.grad_compression, "grad-compression", cli::kGradCompressions), "none or bf16");
  add("shard-optimizer",
      cli::choice(&o.shard_optimizer, "shard-optimizer",
                  {{"auto", ShardOptimizer::automatic},
                   {"on", ShardOptimizer::on},
                   {"off", ShardOptimizer::off}}),
      "auto, on or off: each rank updates 1/N of the parameters (CPU)");
  add("sync-bn", po::bool_switch(&o.sync_bn),
      "BatchNorm statistics over the global batch of all ranks (SyncBatchNorm)");
  add("no-broadcast-buffers", po::bool_switch(&o.no_broadcast_buffers),
      "keep each rank's BatchNorm running statistics instead of rank 0's");

  po::options_description output("Parameters, checkpoints and output");
  add = output.add_options();
  add("init-params", po::value(&o.init_params),
      "read parameters: FILE.safetensors (state_dict names) or raw float32");
  add("export-params", po::value(&o.export_params),
      "write the trained parameters: FILE.safetensors or raw float32");
  add("checkpoint-dir", po::value(&o.checkpoint_dir), "folder for checkpoints");
  add("checkpoint-every", cli::value_with_default(&o.checkpoint_every),
      "steps between checkpoints (0: at the end)");
  add("keep-checkpoints", cli::value_with_default(&o.keep_checkpoints), "newest checkpoints kept");
  add("resume", po::bool_switch(&o.resume), "continue from the newest valid checkpoint");
  add("metrics-out", po::value(&o.metrics_out), "JSON lines of progress and a summary");
  add("log-every", cli::value_with_default(&o.log_every), "steps between progress updates");
  add("progress",
      cli::choice(&o.progress, "progress",
                  {{"auto", ProgressMode::automatic},
                   {"bar", ProgressMode::bar},
                   {"lines", ProgressMode::lines}}),
      "auto, bar or lines");

  po::options_description general("General");
  add = general.add_options();
  add("help,h", "show this help");
  add("config", po::value<std::string>(), "INI file of option = value lines");

  po::options_description all(
      "ddp-train: data-parallel training under mpirun\n"
      "Values come from the command line, then DDP_* variables (DDP_BATCH_SIZE=256), then "
      "--config");
  all.add(model).add(data).add(optimisation).add(parallel).add(output).add(general);
  if (!cli::parse_options(argc, argv, all, &ranks, {.config_file = true, .env_prefix = "DDP_"})) {
    return std::nullopt;
  }
  check_options(o);
  return o;
}

}  // namespace ddp::train
