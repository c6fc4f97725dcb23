#include "train_options.hpp"

#include <initializer_list>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "ddp/nn/mlp.hpp"

namespace ddp::train {
namespace {

namespace po = boost::program_options;

void check_one_of(const std::string& option, const std::string& value,
                  std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* name : allowed) {
    if (value == name) return;
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  DDP_THROW(InvalidArgument, "--" << option << " '" << value << "' is not one of " << list);
}

void check_options(const TrainOptions& o) {
  nn::parse_activation(o.activation);
  check_one_of("optimizer", o.optimizer, {"sgd", "adamw"});
  check_one_of("lr-schedule", o.lr_schedule, {"constant", "step", "cosine"});
  check_one_of("backend", o.backend, {"auto", "mpi", "nccl"});
  check_one_of("device", o.device, {"auto", "cpu", "cuda"});
  check_one_of("grad-compression", o.grad_compression, {"none", "bf16"});
  check_one_of("progress", o.progress, {"auto", "bar", "lines"});
  DDP_CHECK_ARG(o.dropout >= 0 && o.dropout < 1, "--dropout " << o.dropout << " must be in [0, 1)");
  DDP_CHECK_ARG(o.val_fraction >= 0 && o.val_fraction < 1,
                "--val-fraction " << o.val_fraction << " must be in [0, 1)");
  DDP_CHECK_ARG(o.batch_size > 0, "--batch-size must be at least 1, got " << o.batch_size);
  DDP_CHECK_ARG(o.epochs > 0, "--epochs must be at least 1, got " << o.epochs);
  DDP_CHECK_ARG(o.max_steps >= 0, "--max-steps must be 0 (no limit) or more, got " << o.max_steps);
  DDP_CHECK_ARG(o.lr > 0, "--lr must be positive, got " << o.lr);
  DDP_CHECK_ARG(o.momentum >= 0 && o.momentum < 1,
                "--momentum " << o.momentum << " must be in [0, 1)");
  DDP_CHECK_ARG(o.weight_decay >= 0, "--weight-decay must not be negative, got " << o.weight_decay);
  DDP_CHECK_ARG(o.warmup_steps >= 0, "--warmup-steps must not be negative");
  DDP_CHECK_ARG(o.lr_reference_batch >= 0, "--lr-reference-batch must not be negative");
  DDP_CHECK_ARG(o.grad_clip >= 0, "--grad-clip must be 0 (off) or positive, got " << o.grad_clip);
  DDP_CHECK_ARG(o.threads >= 0, "--threads must be 0 (automatic) or more, got " << o.threads);
  DDP_CHECK_ARG(o.bucket_mb > 0, "--bucket-mb must be positive, got " << o.bucket_mb);
  DDP_CHECK_ARG(o.checkpoint_every >= 0, "--checkpoint-every must not be negative");
  DDP_CHECK_ARG(o.keep_checkpoints >= 1, "--keep-checkpoints must be at least 1");
  DDP_CHECK_ARG(o.log_every >= 1, "--log-every must be at least 1, got " << o.log_every);
  DDP_CHECK_ARG(!o.resume || !o.checkpoint_dir.empty(), "--resume needs --checkpoint-dir");
  DDP_CHECK_ARG(o.checkpoint_every == 0 || !o.checkpoint_dir.empty(),
                "--checkpoint-every needs --checkpoint-dir");
}

}  // namespace

std::optional<TrainOptions> parse_train_options(int argc, char** argv) {
  TrainOptions o;
  po::options_description model("Model");
  model.add_options()("model", po::value(&o.model)->default_value(o.model), "mlp:IN,H1,...,OUT")(
      "activation", po::value(&o.activation)->default_value(o.activation), "relu, gelu or tanh")(
      "dropout", po::value(&o.dropout)->default_value(o.dropout),
      "dropout after each hidden activation");

  po::options_description data("Data");
  data.add_options()("data", po::value(&o.data)->default_value(o.data),
                     "synthetic[:N], csv:PATH or idx:IMAGES,LABELS")(
      "val-fraction", po::value(&o.val_fraction)->default_value(o.val_fraction),
      "share of --data held out for validation (0 allowed)")(
      "val-data", po::value(&o.val_data), "a separate validation set, same forms as --data")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size),
      "global batch: all ranks together")("epochs", po::value(&o.epochs)->default_value(o.epochs),
                                          "passes over the training data")(
      "max-steps", po::value(&o.max_steps)->default_value(o.max_steps),
      "stop after this many steps (0: no limit)")("seed", po::value(&o.seed)->default_value(o.seed),
                                                  "seed of data, weights and shuffle")(
      "no-shuffle", po::bool_switch(&o.no_shuffle), "visit samples in dataset order");

  po::options_description optimisation("Optimisation");
  optimisation.add_options()("optimizer", po::value(&o.optimizer)->default_value(o.optimizer),
                             "sgd or adamw")("lr", po::value(&o.lr)->default_value(o.lr),
                                             "learning rate")(
      "momentum", po::value(&o.momentum)->default_value(o.momentum), "sgd momentum")(
      "weight-decay", po::value(&o.weight_decay)->default_value(o.weight_decay), "weight decay")(
      "lr-schedule", po::value(&o.lr_schedule)->default_value(o.lr_schedule),
      "constant, step or cosine")("warmup-steps",
                                  po::value(&o.warmup_steps)->default_value(o.warmup_steps),
                                  "linear warmup steps")(
      "lr-reference-batch", po::value(&o.lr_reference_batch)->default_value(0),
      "scale lr by batch-size / this (0: off)")("grad-clip",
                                                po::value(&o.grad_clip)->default_value(o.grad_clip),
                                                "max global gradient norm (0: off)");

  po::options_description parallel("Parallelism and devices");
  parallel.add_options()("backend", po::value(&o.backend)->default_value(o.backend),
                         "auto, mpi or nccl")(
      "device", po::value(&o.device)->default_value(o.device), "auto, cpu or cuda")(
      "threads", po::value(&o.threads)->default_value(o.threads),
      "compute threads per rank (0: cores / local ranks)")(
      "bucket-mb", po::value(&o.bucket_mb)->default_value(o.bucket_mb), "gradient bucket cap")(
      "grad-compression", po::value(&o.grad_compression)->default_value(o.grad_compression),
      "none or bf16");

  po::options_description output("Parameters, checkpoints and output");
  output.add_options()("init-params", po::value(&o.init_params),
                       "read raw float32 parameters (nn.Sequential order)")(
      "export-params", po::value(&o.export_params), "write the trained parameters")(
      "checkpoint-dir", po::value(&o.checkpoint_dir), "folder for checkpoints")(
      "checkpoint-every", po::value(&o.checkpoint_every)->default_value(0),
      "steps between checkpoints (0: at the end)")(
      "keep-checkpoints", po::value(&o.keep_checkpoints)->default_value(o.keep_checkpoints),
      "newest checkpoints kept")("resume", po::bool_switch(&o.resume),
                                 "continue from the newest valid checkpoint")(
      "metrics-out", po::value(&o.metrics_out), "JSON lines of progress and a summary")(
      "log-every", po::value(&o.log_every)->default_value(o.log_every),
      "steps between progress updates")(
      "progress", po::value(&o.progress)->default_value(o.progress), "auto, bar or lines");

  po::options_description general("General");
  general.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                    "INI file of option = value lines");

  po::options_description all(
      "ddp-train: data-parallel training under mpirun\n"
      "Values come from the command line, then DDP_* variables (DDP_BATCH_SIZE=256), then "
      "--config");
  all.add(model).add(data).add(optimisation).add(parallel).add(output).add(general);
  if (!cli::parse_options(argc, argv, all, {.config_file = true, .env_prefix = "DDP_"})) {
    return std::nullopt;
  }
  check_options(o);
  return o;
}

}  // namespace ddp::train
