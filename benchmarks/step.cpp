// ddp-bench step: one process trains a model and sets the step's time beside the time of that
// step's GEMMs alone (the same calls, recorded from the step, same library and threads), which is
// the floor a CPU step can reach: the ratio says what everything else costs, and update_ms how
// much of that is the optimizer step. With --device cuda the step runs on GPU 0, its loss kept
// there (nn::Loss::forward_into), and host_waits counts the times a step made the host wait for
// the GPU (kernels::cuda_host_waits): none is the goal, the timing's own synchronization apart.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/step_totals.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"
#include "model_inputs.hpp"
#include "report.hpp"
#include "subcommands.hpp"
#include "timing.hpp"

namespace ddp::bench {
namespace {

namespace po = boost::program_options;

// Operands shaped for one recorded call, filled with small values so that no denormals slow it.
struct GemmOperands {
  kernels::GemmCall call;
  Tensor a, b, c;
};

Tensor filled(Shape shape, Generator& generator) {
  Tensor t = Tensor::empty(std::move(shape));
  float* data = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = generator.uniform(-0.1f, 0.1f);
  return t;
}

std::vector<GemmOperands> operands_for(const std::vector<kernels::GemmCall>& calls,
                                       Generator& generator, const Device& device) {
  std::vector<GemmOperands> out;
  for (const kernels::GemmCall& call : calls) {
    const bool ta = call.trans_a == kernels::Transpose::yes;
    const bool tb = call.trans_b == kernels::Transpose::yes;
    // A batched call's operands are [batch, ., .]; a plain one's 2-D.
    const auto shaped = [&](std::int64_t rows, std::int64_t columns) {
      return call.batch == 1 ? Shape{rows, columns} : Shape{call.batch, rows, columns};
    };
    out.push_back(
        {call, filled(ta ? shaped(call.k, call.m) : shaped(call.m, call.k), generator).to(device),
         filled(tb ? shaped(call.n, call.k) : shaped(call.k, call.n), generator).to(device),
         filled(shaped(call.m, call.n), generator).to(device)});
  }
  return out;
}

Device device_named(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  DDP_CHECK_ARG(name == "cuda", "--device '" << name << "' is not known; use cpu or cuda");
  DDP_CHECK_ARG(kernels::cuda_device_count() > 0,
                "--device cuda: no usable CUDA device: " << kernels::cuda_unavailable_reason());
  kernels::set_cuda_device(0);
  return Device::cuda(0);
}

// Until the device's queued work is done, so that a step's time is its own.
void finish_work(const Device& device) {
  if (device.is_cuda()) kernels::cuda_synchronize(device.index);
}

}  // namespace

int step(Runtime& runtime, int argc, char** argv) {
  std::int64_t batch_size = 64;
  std::string model_text = "mlp:784,1024,1024,10";
  int threads = 1;
  int iters = 30;
  int warmup = 5;
  std::string optimizer_name = "sgd";
  std::string format_name = "table";
  std::string device_name = "cpu";
  po::options_description options(
      "ddp-bench step: a model's training step against its GEMMs alone");
  options.add_options()("help,h", "this help")(
      "batch-size", po::value(&batch_size)->default_value(batch_size), "rows per step")(
      "model", po::value(&model_text)->default_value(model_text),
      "any ddp-train model, e.g. mlp:784,1024,1024,10")(
      "threads", po::value(&threads)->default_value(threads), "GEMM threads of this process")(
      "iters", po::value(&iters)->default_value(iters), "timed steps (the medians are reported)")(
      "warmup", po::value(&warmup)->default_value(warmup), "untimed steps first")(
      "optimizer", po::value(&optimizer_name)->default_value(optimizer_name),
      "sgd (momentum 0.9) or adamw")("device", po::value(&device_name)->default_value(device_name),
                                     "cpu or cuda (GPU 0)")(
      "format", po::value(&format_name)->default_value(format_name), "table or csv");
  if (!cli::parse_options(argc, argv, options, runtime.world().get())) return 0;
  const Format format = parse_format(format_name);
  DDP_CHECK_ARG(batch_size >= 1, "--batch-size " << batch_size << " must be at least 1");
  DDP_CHECK_ARG(iters >= 1, "--iters " << iters << " must be at least 1");
  DDP_CHECK_ARG(warmup >= 0, "--warmup " << warmup << " must be at least 0");
  DDP_CHECK_ARG(optimizer_name == "sgd" || optimizer_name == "adamw",
                "--optimizer '" << optimizer_name << "' is not known; use sgd or adamw");
  kernels::set_compute_threads(threads);
  const Device device = device_named(device_name);

  const models::Model built =
      models::build_model(model_text, {.seed = derive_seed(1234, runtime.rank())});
  nn::Module& model = *built.module;
  model.to(device);
  const std::int64_t features = numel(built.signature.sample_shape);
  const std::int64_t classes = built.signature.classes;
  Generator generator(derive_seed(1235, runtime.rank()));
  nn::CrossEntropyLoss loss;
  std::unique_ptr<optim::Optimizer> optimizer;
  if (optimizer_name == "sgd") {
    optimizer = std::make_unique<optim::Sgd>(model.parameters(),
                                             optim::SgdOptions{.lr = 0.01, .momentum = 0.9});
  } else {
    optimizer = std::make_unique<optim::Adamw>(model.parameters(), optim::AdamwOptions{});
  }
  // A pool of batches labelled by a random linear teacher: learnable, so the loss falls, yet not
  // memorised within the run (one repeated batch would drive the gradients into denormals, which
  // are slow and not what training looks like). A language model's teacher maps each token to
  // its target through a fixed random permutation of the vocabulary.
  constexpr std::int64_t kPoolBatches = 16;
  Tensor inputs = random_inputs(built.signature, kPoolBatches * batch_size, generator, 0.1f);
  Tensor targets;
  if (built.signature.sequence > 0) {
    std::vector<std::int64_t> permutation(static_cast<std::size_t>(classes));
    for (std::int64_t i = 0; i < classes; ++i) {
      const auto j =
          static_cast<std::int64_t>(generator.uniform_int(static_cast<std::uint64_t>(i + 1)));
      permutation[static_cast<std::size_t>(i)] = permutation[static_cast<std::size_t>(j)];
      permutation[static_cast<std::size_t>(j)] = i;
    }
    targets = Tensor::empty(inputs.shape(), DType::int64);
    for (std::int64_t i = 0; i < inputs.numel(); ++i) {
      targets.data<std::int64_t>()[i] =
          permutation[static_cast<std::size_t>(inputs.data<std::int64_t>()[i])];
    }
  } else {
    Tensor teacher = filled({classes, features}, generator);
    Tensor scores = Tensor::empty({kPoolBatches * batch_size, classes});
    kernels::gemm(inputs.reshape({kPoolBatches * batch_size, features}), kernels::Transpose::no,
                  teacher, kernels::Transpose::yes, scores);
    targets = Tensor::empty({kPoolBatches * batch_size}, DType::int64);
    for (std::int64_t row = 0; row < scores.size(0); ++row) {
      const float* s = scores.data<float>() + row * classes;
      targets.data<std::int64_t>()[row] = std::max_element(s, s + classes) - s;
    }
  }

  inputs = inputs.to(device);
  targets = targets.to(device);
  Tensor totals = kernels::make_step_totals(device);
  std::vector<double> host_waits;

  auto batch_rows = [&](std::int64_t batch) {
    const std::int64_t begin = (batch % kPoolBatches) * batch_size;
    return std::pair{inputs.rows(begin, begin + batch_size),
                     targets.rows(begin, begin + batch_size)};
  };
  // The loss sees one row of logits per prediction: a language model's [n, T, V] as [n * T, V].
  auto as_rows = [&](const Tensor& logits) {
    return logits.reshape({logits.numel() / classes, classes});
  };
  auto flat = [](const Tensor& labels) { return labels.reshape({labels.numel()}); };
  // The loss on the first batch before and after: the benchmark checks that it trained.
  auto first_batch_loss = [&] {
    auto [x, y] = batch_rows(0);
    return loss.forward(as_rows(model.forward(x)), flat(y));
  };
  const float first_loss = first_batch_loss();
  std::int64_t next_batch = 0;
  // Returns the milliseconds of the optimizer's step, the part of the step that is not GEMMs and
  // streams every parameter (with its gradient and state) through memory.
  auto train_step = [&] {
    auto [x, y] = batch_rows(next_batch++);
    const std::int64_t waits_before = kernels::cuda_host_waits();
    optimizer->zero_grad();
    const Tensor logits = model.forward(x);
    loss.forward_into(as_rows(logits), flat(y), 0, totals);
    model.backward(loss.backward().reshape(logits.shape()));
    finish_work(device);
    const Clock::time_point start = Clock::now();
    optimizer->step();
    finish_work(device);
    // The step's own waits: the timing's two synchronizations left out.
    host_waits.push_back(static_cast<double>(kernels::cuda_host_waits() - waits_before -
                                             (device.is_cuda() ? 2 : 0)));
    return milliseconds_since(start);
  };
  for (int i = 0; i < warmup; ++i) train_step();
  std::vector<kernels::GemmCall> calls;
  {
    kernels::GemmRecorder recorder;
    train_step();
    calls = recorder.calls();
  }
  std::vector<GemmOperands> gemms = operands_for(calls, generator, device);
  auto run_gemms = [&] {
    for (GemmOperands& g : gemms) {
      if (g.call.batch == 1) {
        kernels::gemm(g.a, g.call.trans_a, g.b, g.call.trans_b, g.c, g.call.alpha, g.call.beta);
      } else {
        kernels::gemm_batched(g.a, g.call.trans_a, g.b, g.call.trans_b, g.c, g.call.alpha,
                              g.call.beta);
      }
    }
    finish_work(device);
  };
  for (int i = 0; i < warmup; ++i) run_gemms();

  // Alternating one step and one set of GEMMs keeps both under the same machine conditions
  // (frequency, neighbours' load); medians drop the rounds a neighbour disturbed.
  std::vector<double> step_ms;
  std::vector<double> update_ms;
  std::vector<double> gemm_ms;
  host_waits.clear();
  for (int i = 0; i < iters; ++i) {
    finish_work(device);
    Clock::time_point start = Clock::now();
    update_ms.push_back(train_step());
    step_ms.push_back(milliseconds_since(start));
    start = Clock::now();
    run_gemms();
    gemm_ms.push_back(milliseconds_since(start));
  }
  const float last_loss = first_batch_loss();
  DDP_CHECK(std::isfinite(last_loss) && last_loss < first_loss,
            "the model did not learn: the first batch's loss went from "
                << first_loss << " to " << last_loss << " over " << iters + warmup + 1 << " steps");

  double flops = 0.0;
  for (const kernels::GemmCall& call : calls) {
    flops += 2.0 * static_cast<double>(call.batch) * static_cast<double>(call.m) *
             static_cast<double>(call.n) * static_cast<double>(call.k);
  }
  const double step_median = median(step_ms);
  const double gemm_median = median(gemm_ms);
  // Dashes, not commas, so that the CSV keeps one cell per column.
  std::string model_name = model_text;
  std::replace(model_name.begin(), model_name.end(), ',', '-');
  if (runtime.rank() == 0) {
    Report report({"step_ms", "gemm_ms", "ratio", "update_ms", "gemm_gflops", "gemms", "threads",
                   "batch", "model", "optimizer", "loss_first", "loss_last", "device",
                   "host_waits"});
    report.add_row({fixed(step_median, 3), fixed(gemm_median, 3),
                    fixed(step_median / gemm_median, 3), fixed(median(update_ms), 3),
                    fixed(flops / gemm_median * 1e-6, 1), std::to_string(calls.size()),
                    std::to_string(threads), std::to_string(batch_size), model_name, optimizer_name,
                    fixed(first_loss, 4), fixed(last_loss, 4), to_string(device),
                    fixed(*std::max_element(host_waits.begin(), host_waits.end()), 0)});
    report.print(std::cout, format);
  }
  return 0;
}

}  // namespace ddp::bench
