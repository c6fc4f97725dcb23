// ddp-bench overlap: how much of DDP's gradient all-reduce the backward pass hides. In one run, on
// the same model and buckets: the step with communication (DDP), the step without it (the same
// DDP model under no_sync, so nothing is reduced), and the buckets' all-reduces alone.
// exposed = with - without: the communication a step still waits for after its backward.
#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "ddp/core/random.hpp"
#include "ddp/core/trace.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "ddp/parallel/timeline.hpp"
#include "library_choices.hpp"
#include "model_inputs.hpp"
#include "report.hpp"
#include "subcommands.hpp"
#include "timing.hpp"

namespace ddp::bench {
namespace {

namespace po = boost::program_options;

struct OverlapOptions {
  // Any ddp-train model. The default MLP's four 1024-wide layers make four
  // buckets of about 4 MiB at a 1 MiB cap, so backward has buckets to hide behind later layers.
  std::string model = "mlp:784,1024,1024,1024,1024,10";
  std::int64_t batch_size = 64;  // rows per rank per step
  double bucket_cap_mb = 1.0;    // smaller: more, earlier all-reduces; larger: fewer, later
  double first_bucket_cap_mb = 1.0;
  parallel::GradCompression grad_compression = parallel::GradCompression::none;
  int threads = 1;  // GEMM threads per rank: one core each, the rest is left to communication
  int iters = 20;   // timed steps per mode and trial; the median counts
  int warmup = 3;   // untimed rounds of the three first
  int trials = 3;   // each mode keeps its best trial's median
  std::string format = "table";
  std::string trace;  // Chrome trace JSON of the last trial's steps with communication
};

// Elements of the reduced gradients that differ from rank 0's: every rank must hold the same.
std::int64_t count_wrong(ProcessGroup& group, nn::Module& model) {
  std::int64_t wrong = 0;
  for (nn::Parameter* param : model.parameters()) {
    Tensor reference = param->grad.clone();
    group.broadcast(reference, 0);
    const float* mine = param->grad.data<float>();
    const float* root = reference.data<float>();
    for (std::int64_t i = 0; i < reference.numel(); ++i) wrong += mine[i] != root[i];
  }
  Tensor total = Tensor::from_vector<std::int64_t>({wrong}, {1});
  group.all_reduce(total);
  return total.data<std::int64_t>()[0];
}

}  // namespace

int overlap(Runtime& runtime, int argc, char** argv) {
  OverlapOptions o;
  po::options_description description(
      "ddp-bench overlap: DDP step with communication, without it, and its all-reduces alone");
  description.add_options()("help,h", "this help")(
      "model", po::value(&o.model)->default_value(o.model), "any ddp-train model")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "rows per rank")(
      "bucket-cap-mb", po::value(&o.bucket_cap_mb)->default_value(o.bucket_cap_mb),
      "bucket cap, MiB")("first-bucket-cap-mb",
                         po::value(&o.first_bucket_cap_mb)->default_value(o.first_bucket_cap_mb),
                         "first bucket's cap, MiB")(
      "grad-compression",
      cli::choice(&o.grad_compression, "grad-compression", cli::kGradCompressions), "none or bf16")(
      "threads", po::value(&o.threads)->default_value(o.threads), "GEMM threads per rank")(
      "iters", po::value(&o.iters)->default_value(o.iters), "timed steps per mode and trial")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps first")(
      "trials", po::value(&o.trials)->default_value(o.trials), "trials; the best counts")(
      "format", po::value(&o.format)->default_value(o.format), "table or csv")(
      "trace", po::value(&o.trace),
      "write every rank's timeline of the last trial's steps with communication (Chrome trace "
      "JSON)");
  if (!cli::parse_options(argc, argv, description, runtime.world().get())) return 0;
  const Format format = parse_format(o.format);
  DDP_CHECK_ARG(o.batch_size >= 1, "--batch-size " << o.batch_size << " must be at least 1");
  DDP_CHECK_ARG(o.iters >= 1 && o.warmup >= 0 && o.trials >= 1,
                "--iters and --trials must be at least 1 and --warmup not negative");
  DDP_CHECK_ARG(o.threads >= 1, "--threads " << o.threads << " must be at least 1");
  parallel::check_bucket_cap_mb(o.bucket_cap_mb, "--bucket-cap-mb");
  parallel::check_bucket_cap_mb(o.first_bucket_cap_mb, "--first-bucket-cap-mb");
  kernels::set_compute_threads(o.threads);

  ProcessGroup& group = *runtime.world();
  if (!o.trace.empty()) {
    // Rank 0 writes it at the end: a path it cannot write is refused now, on every rank.
    const std::string obstacle = runtime.rank() == 0 ? io::export_obstacle(o.trace) : "";
    Tensor refused = Tensor::from_vector<std::int32_t>({obstacle.empty() ? 0 : 1}, {1});
    group.all_reduce(refused);
    DDP_CHECK_ARG(refused.data<std::int32_t>()[0] == 0,
                  "--trace " << o.trace << " cannot be written"
                             << (obstacle.empty() ? "" : " (" + obstacle + ")")
                             << "; give a path in a writable folder");
  }
  Generator generator(derive_seed(99, static_cast<std::uint64_t>(runtime.rank())));
  const models::Model built = models::build_model(o.model, {.seed = 99});
  nn::Module& model = *built.module;
  parallel::DdpOptions ddp_options;
  ddp_options.bucket_cap_mb = o.bucket_cap_mb;
  ddp_options.first_bucket_cap_mb = o.first_bucket_cap_mb;
  ddp_options.grad_compression = o.grad_compression;
  parallel::DistributedDataParallel ddp(model, runtime.world(), ddp_options);
  optim::Sgd optimizer(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  nn::CrossEntropyLoss loss;
  std::optional<parallel::Timeline> timeline;
  if (!o.trace.empty()) {
    const auto per_step = static_cast<std::size_t>(2 * model.modules().size() +
                                                   3 * ddp.reducer().plan().buckets.size() + 32);
    timeline.emplace(group, runtime.host(), static_cast<std::size_t>(o.iters) * per_step + 64);
  }

  // A pool of this rank's batches with random labels: the step's cost does not depend on them.
  constexpr std::int64_t kPoolBatches = 8;
  Tensor inputs = random_inputs(built.signature, kPoolBatches * o.batch_size, generator);
  Tensor labels = Tensor::empty({kPoolBatches * o.batch_size}, DType::int64);
  for (std::int64_t i = 0; i < labels.numel(); ++i) {
    labels.data<std::int64_t>()[i] = static_cast<std::int64_t>(
        generator.uniform_int(static_cast<std::uint64_t>(built.signature.classes)));
  }
  const std::int64_t global_n = o.batch_size * group.size();
  std::int64_t next = 0;
  // How long the last step's finish() waited: the tail of communication that backward did not
  // cover. The rest of the exposed time is backward slowed down by communication sharing its core.
  double finish_wait_ms = 0.0;
  auto step = [&] {
    const trace::Span span("step", "step");
    const std::int64_t begin = (next++ % kPoolBatches) * o.batch_size;
    loss.forward(ddp.forward(inputs.rows(begin, begin + o.batch_size)),
                 labels.rows(begin, begin + o.batch_size), global_n);
    ddp.backward(loss.backward());
    const Clock::time_point finish_start = Clock::now();
    ddp.finish();
    finish_wait_ms = milliseconds_since(finish_start);
    const trace::Span optimizer_span("optimizer", "phase");
    optimizer.step();
    optimizer.zero_grad();
  };
  auto step_without_communication = [&] {
    auto local_only = ddp.no_sync();
    step();
  };
  // The same buckets as the reducer's, on the same wire dtype, issued back to back as backward
  // would issue them, then waited for: the communication with nothing to hide behind.
  std::vector<Tensor> wires;
  for (const parallel::Bucket& bucket : ddp.reducer().plan().buckets) {
    wires.push_back(Tensor::zeros(
        {bucket.numel},
        o.grad_compression == parallel::GradCompression::bf16 ? DType::bfloat16 : DType::float32));
  }
  auto all_reduces = [&] {
    std::vector<WorkPtr> works;
    for (Tensor& wire : wires) works.push_back(group.all_reduce_async(wire));
    for (WorkPtr& work : works) work->wait();
  };

  Report report({"trial", "with_ms", "without_ms", "allreduce_ms", "exposed_ms", "exposed_pct",
                 "finish_wait_ms", "buckets", "grad_mib", "wire_mib", "compression", "ranks",
                 "batch"});
  const std::size_t buckets = wires.size();
  const double grad_mib = static_cast<double>(model.parameter_count()) * 4 / (1 << 20);
  const double wire_mib = static_cast<double>(ddp.reducer().wire_bytes_per_step()) / (1 << 20);
  auto add_row = [&](const std::string& trial, double with, double without, double alone,
                     double wait) {
    report.add_row({trial, fixed(with, 3), fixed(without, 3), fixed(alone, 3),
                    fixed(with - without, 3), fixed(100.0 * (with - without) / alone, 1),
                    fixed(wait, 3), std::to_string(buckets), fixed(grad_mib, 2), fixed(wire_mib, 2),
                    parallel::to_string(o.grad_compression), std::to_string(group.size()),
                    std::to_string(o.batch_size)});
  };
  double best_with = 1e30, best_without = 1e30, best_alone = 1e30, best_wait = 1e30;
  for (int i = 0; i < o.warmup; ++i) {
    step_without_communication();
    step();
    all_reduces();
  }
  for (int trial = 0; trial < o.trials; ++trial) {
    // One of each in turn, so that the three see the same machine (frequency, neighbours' load);
    // medians drop the rounds a neighbour disturbed.
    std::vector<double> with_ms, without_ms, alone_ms, wait_ms;
    group.barrier();
    for (int i = 0; i < o.iters; ++i) {
      Clock::time_point start = Clock::now();
      step_without_communication();
      without_ms.push_back(milliseconds_since(start));
      // The trace holds the last trial's steps with communication.
      trace::set_step(i + 1);
      trace::set_recording(timeline && trial + 1 == o.trials);
      start = Clock::now();
      step();
      with_ms.push_back(milliseconds_since(start));
      trace::set_recording(false);
      wait_ms.push_back(finish_wait_ms);
      start = Clock::now();
      all_reduces();
      alone_ms.push_back(milliseconds_since(start));
    }
    const double with = slowest(group, median(with_ms));
    const double without = slowest(group, median(without_ms));
    const double alone = slowest(group, median(alone_ms));
    const double wait = slowest(group, median(wait_ms));
    add_row(std::to_string(trial + 1), with, without, alone, wait);
    best_with = std::min(best_with, with);
    best_without = std::min(best_without, without);
    best_alone = std::min(best_alone, alone);
    best_wait = std::min(best_wait, wait);
  }
  add_row("best", best_with, best_without, best_alone, best_wait);

  // One more synchronised backward: every rank must now hold the same reduced gradients.
  const std::int64_t begin = (next % kPoolBatches) * o.batch_size;
  loss.forward(ddp.forward(inputs.rows(begin, begin + o.batch_size)),
               labels.rows(begin, begin + o.batch_size), global_n);
  ddp.backward(loss.backward());
  ddp.finish();
  const std::int64_t wrong = count_wrong(group, model);
  if (timeline) {
    const std::int64_t dropped = timeline->write(o.trace);
    if (runtime.rank() == 0) {
      std::cerr << "ddp-bench overlap: wrote the timeline of " << o.iters << " steps of "
                << group.size() << " ranks to " << o.trace
                << (dropped > 0 ? " (" + std::to_string(dropped) + " spans dropped)" : "")
                << std::endl;
    }
  }

  if (runtime.rank() == 0) {
    if (format == Format::table) {
      std::cout << "# DDP overlap, " << group.size() << " ranks, " << o.threads
                << " GEMM thread(s) each, model " << o.model << ", medians of " << o.iters
                << " steps per trial, slowest rank; exposed = with - without, exposed_pct = "
                   "exposed / allreduce; gradient elements differing across ranks: "
                << wrong << "\n";
    }
    report.print(std::cout, format);
  }
  DDP_CHECK(wrong == 0, wrong << " reduced gradient elements differ across ranks");
  return 0;
}

}  // namespace ddp::bench
