// The options of ddp-train: what a run trains, on what data, how, and where it writes. Choices
// are parsed into enums here; the rest of the program sees no option text but --model's and the
// data specs, which the model registry and the data builder read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ddp/comm/backend.hpp"
#include "ddp/comm/process_group.hpp"
#include "ddp/data/normalize.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/optim/lr_schedule.hpp"
#include "ddp/parallel/reducer.hpp"

namespace ddp::train {

enum class OptimizerKind { sgd, adamw };
enum class DeviceRequest { automatic, cpu, cuda };
// automatic: on for CPU runs of several ranks with a model of at least 256 Ki parameters.
enum class ShardOptimizer { automatic, on, off };
// A step whose all-reduced gradients are not finite: skip it with a warning, or end the run.
// Every rank sees the same gradients, so every rank reaches the same verdict.
enum class NanPolicy { skip, stop };
// bar (redrawn in place), lines (a few plain lines, for logs) or automatic: bar on a terminal
// (under mpirun every rank's output looks like one: DDP_OUTPUT_IS_A_TERMINAL=0 says it is not).
enum class ProgressMode { automatic, bar, lines };

// "sgd" or "adamw", as the option names it (checkpoints record it).
std::string to_string(OptimizerKind kind);

struct TrainOptions {
  // Model
  std::string model = "mlp:32,128,10";  // a spec of any registered family (models::build_model)
  kernels::Activation activation = kernels::Activation::relu;  // between the Linear layers
  double dropout = 0.0;  // after each hidden activation; 0 adds no Dropout layer

  // Data
  // synthetic[:N], csv:PATH, idx:IMAGES,LABELS, fashion-mnist, text:PATH[,PATH...], text:fortunes
  std::string data = "synthetic";
  double val_fraction = 0.1;      // held out of --data for validation; 0 validates on nothing
  std::string val_data;           // a separate validation set (same forms as --data)
  std::int64_t batch_size = 128;  // the global batch; each rank reads its torch.chunk slice
  std::int64_t epochs = 5;
  std::int64_t max_steps = 0;  // stop after this many optimizer steps in all; 0: no limit
  std::uint64_t seed = 0;      // data, split, shuffle, initial weights, dropout
  bool no_shuffle = false;
  bool evaluate = false;  // validate the initial (or resumed) parameters, train nothing
  // x -> (x - mean) / std for every feature of --data and --val-data (images after [0, 1])
  std::optional<data::Normalization> normalize;

  // Optimisation
  OptimizerKind optimizer = OptimizerKind::sgd;
  double lr = 0.1;
  double momentum = 0.9;      // sgd
  double weight_decay = 0.0;  // sgd: L2 in the gradient; adamw: decoupled
  // Weight decay on parameters of 2 or more dimensions only (matrices, kernels, embeddings), as
  // nanoGPT groups them; unset: on for --model gpt:..., off otherwise.
  std::optional<bool> decay_matrices_only;
  // Micro-batches of --batch-size per optimizer step, gradients accumulated locally (DDP's
  // no_sync) and reduced once: one step on a batch grad_accum times as large.
  std::int64_t grad_accum = 1;
  optim::ScheduleKind lr_schedule = optim::ScheduleKind::constant;
  std::int64_t warmup_steps = 0;
  std::int64_t lr_reference_batch = 0;  // >0: lr scaled by batch-size / this (linear scaling rule)
  double grad_clip = 0.0;               // >0: clip the global gradient norm to this
  NanPolicy nan_policy = NanPolicy::skip;
  std::int64_t max_nan_steps = 10;  // skip: end the run after this many such steps in a row

  // Parallelism and devices
  Backend backend = Backend::automatic;
  DeviceRequest device = DeviceRequest::automatic;
  bool tf32 = false;        // GPU GEMMs in TF32 (inputs to 10 mantissa bits)
  int threads = 0;          // compute threads per rank; 0: cores / ranks on this host
  double bucket_mb = 25.0;  // DDP bucket cap
  parallel::GradCompression grad_compression = parallel::GradCompression::none;
  // ZeRO stage 1: each rank keeps optimizer state for, and updates, 1/N of the parameters, then
  // all-gathers them (the same parameters, bit for bit).
  ShardOptimizer shard_optimizer = ShardOptimizer::automatic;
  bool sync_bn = false;               // BatchNorm statistics over every rank's slice
  bool no_broadcast_buffers = false;  // keep each rank's buffers (DDP copies rank 0's by default)

  // Parameters, checkpoints and output
  std::string init_params;    // FILE.safetensors (by name) or raw float32, read before training
  std::string export_params;  // written by rank 0 after training, in the same two formats
  std::string checkpoint_dir;
  std::int64_t checkpoint_every = 0;  // steps between checkpoints; 0: only at the end
  int keep_checkpoints = 3;
  bool resume = false;          // continue from the newest valid checkpoint in --checkpoint-dir
  std::string metrics_out;      // JSON lines: progress, epochs and a final summary
  std::int64_t log_every = 20;  // steps between progress updates (each costs one small all-reduce)
  ProgressMode progress = ProgressMode::automatic;
};

// Whether weight decay skips parameters of fewer than 2 dimensions (biases, norm weights):
// --decay-matrices-only as given, else on for a gpt: model.
bool decays_matrices_only(const TrainOptions& options);

// Parses the command line, the DDP_* environment (DDP_BATCH_SIZE=256) and an INI --config file,
// in that order of precedence, and checks every value: a bad one is an InvalidArgument naming the
// option and what it allows, and so is a value that differs between the ranks. Nothing when
// --help was asked for (the help is printed).
std::optional<TrainOptions> parse_train_options(int argc, char** argv, ProcessGroup& ranks);

}  // namespace ddp::train
