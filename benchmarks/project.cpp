// ddp-bench project: predicts DDP's step time and weak-scaling efficiency at many ranks from one
// rank's compute time per step, the model's gradient buckets and an alpha-beta model of the
// network, for ring and tree all-reduce overlapped with backward. Nothing is communicated: it
// runs in one process and prints a table for the rank counts asked for.
//
// The model, stated once here and printed with the table:
//  - one all-reduce of S bytes over N ranks costs, with a per-message latency alpha and a
//    bandwidth B (the busbw of nccl-tests):
//      ring: 2(N-1) alpha + 2(N-1)/N S/B    tree: 2 ceil(log2 N) alpha + 2 S/B
//    (a pipelined double binary tree, as NCCL's: the bandwidth term of a ring without its
//    (N-1)/N discount, the latency of a tree's depth; "best" takes the cheaper per bucket).
//  - gradients become ready during backward; a bucket's all-reduce starts once its last gradient
//    is ready and the previous bucket's all-reduce is done (one communication queue per group),
//    so exposed = max(0, end of the last all-reduce - end of backward). With one bucket ready at
//    backward's end that is max(0, comm - overlappable backward) + the last bucket, as the
//    simple rule says; with several it also counts a queue that backward outpaces.
//  - compute per rank does not change with N (weak scaling: a fixed slice per rank); with
//    --cores C, N > C ranks share C cores and compute grows by N/C (an oversubscribed laptop).
//  - step = compute + exposed; efficiency = step at one rank (no all-reduce) / step at N.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "ddp/core/integer_list.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/bucket_plan.hpp"
#include "model_inputs.hpp"
#include "report.hpp"
#include "subcommands.hpp"
#include "timing.hpp"

namespace ddp::bench {
namespace {

namespace po = boost::program_options;

// One step's timeline on one rank, in ms from the start of forward.
struct StepProfile {
  double compute_ms = 0;         // forward + backward + optimizer
  double backward_end_ms = 0;    // when the last gradient is final
  std::vector<double> ready_ms;  // per parameter (registration order), when its gradient is final
};

struct Network {
  double alpha_us = 0;
  double bandwidth_gbs = 0;  // GB/s = 1e9 bytes/s
};

std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& option) {
  std::optional<std::vector<std::int64_t>> values = parse_positive_integers(text);
  DDP_CHECK_ARG(values.has_value(),
                option << " '" << text << "' must be positive integers separated by commas");
  return *values;
}

// Trains the model on random batches in this process and records when each gradient is final.
StepProfile measure(models::Model& built, std::int64_t batch_size, int iters) {
  nn::Module* model = built.module.get();
  model->set_input_grad_needed(false);  // as DDP's models: the input is data
  std::vector<nn::Parameter*> params = model->parameters();
  optim::Sgd optimizer(params, optim::SgdOptions{.lr = 0.01, .momentum = 0.9});
  nn::CrossEntropyLoss loss;
  Generator generator(1235);
  Tensor inputs = random_inputs(built.signature, batch_size, generator);
  Tensor targets = Tensor::empty({batch_size}, DType::int64);
  for (std::int64_t i = 0; i < batch_size; ++i) {
    targets.data<std::int64_t>()[i] = i % built.signature.classes;
  }
  Clock::time_point start;
  std::vector<double> ready(params.size());
  auto since_start = [&] { return milliseconds_since(start); };
  model->set_grad_ready_hook([&](std::size_t index) { ready[index] = since_start(); });

  std::vector<double> compute, backward_end;
  std::vector<std::vector<double>> ready_samples(params.size());
  constexpr int kWarmup = 5;
  for (int i = 0; i < kWarmup + iters; ++i) {
    start = Clock::now();
    optimizer.zero_grad();
    loss.forward(model->forward(inputs), targets);
    model->backward(loss.backward());
    const double backward_ms = since_start();
    optimizer.step();
    if (i < kWarmup) continue;
    compute.push_back(since_start());
    backward_end.push_back(backward_ms);
    for (std::size_t p = 0; p < params.size(); ++p) ready_samples[p].push_back(ready[p]);
  }
  model->set_grad_ready_hook({});
  StepProfile profile{
      .compute_ms = median(compute), .backward_end_ms = median(backward_end), .ready_ms = {}};
  for (const auto& samples : ready_samples) profile.ready_ms.push_back(median(samples));
  return profile;
}

// A given compute time: backward takes backward_share of it and makes gradients final in reverse
// registration order, each after a share of backward equal to its share of the elements; the
// rest is split evenly between forward before it and the optimizer after it.
StepProfile assumed(const std::vector<std::int64_t>& numels, double compute_ms,
                    double backward_share) {
  StepProfile profile{.compute_ms = compute_ms, .backward_end_ms = 0, .ready_ms = {}};
  double total = 0;
  for (std::int64_t n : numels) total += static_cast<double>(n);
  const double backward_ms = compute_ms * backward_share;
  const double backward_start = compute_ms * (1 - backward_share) * 0.5;
  profile.backward_end_ms = backward_start + backward_ms;
  profile.ready_ms.resize(numels.size());
  double done = 0;
  for (std::size_t p = numels.size(); p-- > 0;) {
    done += static_cast<double>(numels[p]);
    profile.ready_ms[p] = backward_start + backward_ms * done / total;
  }
  return profile;
}

double ring_ms(double bytes, std::int64_t ranks, const Network& net) {
  const double n = static_cast<double>(ranks);
  return 2 * (n - 1) * net.alpha_us * 1e-3 + 2 * (n - 1) / n * bytes / (net.bandwidth_gbs * 1e6);
}

double tree_ms(double bytes, std::int64_t ranks, const Network& net) {
  const double depth = std::ceil(std::log2(static_cast<double>(ranks)));
  return 2 * depth * net.alpha_us * 1e-3 + 2 * bytes / (net.bandwidth_gbs * 1e6);
}

enum class Algorithm { ring, tree, best };

struct Prediction {
  double allreduce_ms = 0;  // all buckets, back to back
  double exposed_ms = 0;
  double step_ms = 0;
  int tree_buckets = 0;
};

Prediction predict(const StepProfile& profile, const parallel::BucketPlan& plan,
                   const std::vector<double>& bucket_bytes, std::int64_t ranks, double slowdown,
                   const Network& net, Algorithm algorithm) {
  Prediction out;
  const double backward_end = profile.backward_end_ms * slowdown;
  double queue_free = 0;
  for (std::size_t b = 0; b < plan.buckets.size(); ++b) {
    double ready = 0;
    for (const parallel::BucketEntry& entry : plan.buckets[b].entries) {
      ready = std::max(ready, profile.ready_ms[entry.parameter] * slowdown);
    }
    double cost = 0;
    if (ranks > 1) {
      const double ring = ring_ms(bucket_bytes[b], ranks, net);
      const double tree = tree_ms(bucket_bytes[b], ranks, net);
      const bool use_tree =
          algorithm == Algorithm::tree || (algorithm == Algorithm::best && tree < ring);
      cost = use_tree ? tree : ring;
      out.tree_buckets += use_tree ? 1 : 0;
    }
    out.allreduce_ms += cost;
    queue_free = std::max(ready, queue_free) + cost;
  }
  out.exposed_ms = std::max(0.0, queue_free - backward_end);
  out.step_ms = profile.compute_ms * slowdown + out.exposed_ms;
  return out;
}

}  // namespace

int project(Runtime& runtime, int argc, char** argv) {
  std::string model_text = "mlp:784,1024,1024,10";
  std::string uniform_text;
  std::int64_t batch_size = 64;
  int threads = 1;
  int iters = 30;
  double compute_ms = 0;
  double backward_share = 2.0 / 3.0;
  double bucket_cap_mb = 25;
  double first_bucket_cap_mb = 1;
  int bytes_per_element = 4;
  std::string network_name = "nvlink";
  double alpha_us = 0;
  double bandwidth_gbs = 0;
  std::string ranks_text = "8,16,32,64,128,256,512,1024,2048,4096";
  std::int64_t cores = 0;
  std::string algorithm_name = "best";
  std::string format_name = "table";
  po::options_description options(
      "ddp-bench project: DDP step time and efficiency at many ranks, from one rank's compute\n"
      "time, the gradient buckets and an alpha-beta network (ring/tree all-reduce, overlapped)");
  options.add_options()("help,h", "this help")("model",
                                               po::value(&model_text)->default_value(model_text),
                                               "mlp:IN,H1,...,OUT: its parameters and bucket plan")(
      "uniform", po::value(&uniform_text),
      "PARAMS,TENSORS instead of --model: PARAMS elements in TENSORS equal tensors "
      "(needs --compute-ms)")("batch-size", po::value(&batch_size)->default_value(batch_size),
                              "rows per rank when measuring compute here")(
      "threads", po::value(&threads)->default_value(threads), "GEMM threads when measuring")(
      "iters", po::value(&iters)->default_value(iters), "steps measured (medians)")(
      "compute-ms", po::value(&compute_ms)->default_value(compute_ms),
      "one rank's forward+backward+optimizer time per step (0: measure the MLP here)")(
      "backward-share", po::value(&backward_share)->default_value(backward_share, "0.667"),
      "with --compute-ms: backward's share of it, gradients ready in proportion to their size")(
      "bucket-cap-mb", po::value(&bucket_cap_mb)->default_value(bucket_cap_mb), "bucket cap, MiB")(
      "first-bucket-cap-mb", po::value(&first_bucket_cap_mb)->default_value(first_bucket_cap_mb),
      "first bucket's cap, MiB")("bytes-per-element",
                                 po::value(&bytes_per_element)->default_value(bytes_per_element),
                                 "gradient bytes on the wire: 4 (float32) or 2 (bf16 compression)")(
      "network", po::value(&network_name)->default_value(network_name),
      "nvlink (one 8-GPU H100 node: alpha 2 us, 360 GB/s) or ib (H100 nodes, 8 NDR 400 Gb/s "
      "NICs each: alpha 5 us, 340 GB/s); --alpha-us / --bandwidth-gbs override")(
      "alpha-us", po::value(&alpha_us)->default_value(alpha_us), "latency per message, us")(
      "bandwidth-gbs", po::value(&bandwidth_gbs)->default_value(bandwidth_gbs),
      "all-reduce bus bandwidth, GB/s")("ranks", po::value(&ranks_text)->default_value(ranks_text),
                                        "rank counts to predict")(
      "cores", po::value(&cores)->default_value(cores),
      "cores the ranks share (0: one device each); beyond it compute slows by ranks/cores")(
      "algorithm", po::value(&algorithm_name)->default_value(algorithm_name),
      "ring, tree or best (the cheaper per bucket)")(
      "format", po::value(&format_name)->default_value(format_name), "table or csv");
  if (!cli::parse_options(argc, argv, options, runtime.world().get())) return 0;
  const Format format = parse_format(format_name);
  DDP_CHECK_ARG(network_name == "nvlink" || network_name == "ib",
                "--network '" << network_name << "' is not known; use nvlink or ib");
  DDP_CHECK_ARG(alpha_us >= 0 && bandwidth_gbs >= 0,
                "--alpha-us and --bandwidth-gbs must not be negative (0: the --network's)");
  Network net = network_name == "nvlink" ? Network{2, 360} : Network{5, 340};
  if (alpha_us > 0) net.alpha_us = alpha_us;
  if (bandwidth_gbs > 0) net.bandwidth_gbs = bandwidth_gbs;
  DDP_CHECK_ARG(algorithm_name == "ring" || algorithm_name == "tree" || algorithm_name == "best",
                "--algorithm '" << algorithm_name << "' is not known; use ring, tree or best");
  const Algorithm algorithm = algorithm_name == "ring"   ? Algorithm::ring
                              : algorithm_name == "tree" ? Algorithm::tree
                                                         : Algorithm::best;
  DDP_CHECK_ARG(bytes_per_element == 4 || bytes_per_element == 2,
                "--bytes-per-element " << bytes_per_element << " must be 4 or 2");
  DDP_CHECK_ARG(backward_share > 0 && backward_share <= 1,
                "--backward-share " << backward_share << " must be in (0, 1]");
  DDP_CHECK_ARG(bucket_cap_mb > 0 && first_bucket_cap_mb > 0, "bucket caps must be positive");
  DDP_CHECK_ARG(compute_ms >= 0, "--compute-ms must not be negative");
  DDP_CHECK_ARG(iters >= 1 && batch_size >= 1 && threads >= 1 && cores >= 0,
                "--iters, --batch-size and --threads must be at least 1, --cores at least 0");
  const std::vector<std::int64_t> rank_counts = parse_int_list(ranks_text, "--ranks");

  std::vector<std::int64_t> numels;
  models::Model built;
  std::string model_name;
  if (!uniform_text.empty()) {
    const std::vector<std::int64_t> uniform = parse_int_list(uniform_text, "--uniform");
    DDP_CHECK_ARG(
        uniform.size() == 2 && uniform[1] <= uniform[0],
        "--uniform '" << uniform_text << "' must be PARAMS,TENSORS with PARAMS >= TENSORS");
    DDP_CHECK_ARG(compute_ms > 0, "--uniform needs --compute-ms: there is no model to measure");
    numels.assign(static_cast<std::size_t>(uniform[1]), uniform[0] / uniform[1]);
    model_name = "uniform " + uniform_text;
  } else {
    built = models::build_model(model_text, {.seed = 1234});
    for (const nn::Parameter* param : built.module->parameters()) {
      numels.push_back(param->value.numel());
    }
    model_name = model_text;
  }
  StepProfile profile;
  if (compute_ms > 0) {
    profile = assumed(numels, compute_ms, backward_share);
  } else {
    kernels::set_compute_threads(threads);
    profile = measure(built, batch_size, iters);
  }
  const parallel::BucketPlan plan = parallel::plan_buckets(
      numels, bytes_per_element,
      {.first_bucket_cap_bytes = static_cast<std::int64_t>(first_bucket_cap_mb * (1 << 20)),
       .bucket_cap_bytes = static_cast<std::int64_t>(bucket_cap_mb * (1 << 20))});
  std::vector<double> bucket_bytes;
  for (const parallel::Bucket& bucket : plan.buckets) {
    bucket_bytes.push_back(static_cast<double>(bucket.numel) * bytes_per_element);
  }
  // Runs of equal sizes as "27.90 x47": a large model's plan stays one line.
  std::ostringstream buckets_text;
  for (std::size_t b = 0; b < bucket_bytes.size();) {
    std::size_t end = b;
    while (end < bucket_bytes.size() && bucket_bytes[end] == bucket_bytes[b]) ++end;
    buckets_text << (b > 0 ? " + " : "") << fixed(bucket_bytes[b] / 1e6, 2);
    if (end - b > 1) buckets_text << " x" << end - b;
    b = end;
  }
  double first_ready = profile.backward_end_ms;
  for (double t : profile.ready_ms) first_ready = std::min(first_ready, t);

  if (runtime.rank() != 0) return 0;
  if (format == Format::table) {
    std::cout << "# " << model_name << ": buckets " << buckets_text.str() << " MB; compute "
              << fixed(profile.compute_ms, 3) << " ms/step ("
              << (compute_ms > 0 ? "given" : "measured here") << "), gradients ready from "
              << fixed(first_ready, 3) << " to " << fixed(profile.backward_end_ms, 3)
              << " ms; alpha " << net.alpha_us << " us, busbw " << net.bandwidth_gbs
              << " GB/s; ring 2(N-1)a + 2(N-1)/N S/B, tree 2ceil(log2 N)a + 2S/B; exposed = end of"
              << " the last bucket's all-reduce - end of backward; efficiency = step(1)/step(N)\n";
  }
  const Prediction single = predict(profile, plan, bucket_bytes, 1, 1.0, net, algorithm);
  Report report({"ranks", "algorithm", "allreduce_ms", "exposed_ms", "step_ms", "efficiency",
                 "ring_exposed_ms", "tree_exposed_ms"});
  for (std::int64_t ranks : rank_counts) {
    const double slowdown =
        cores > 0 ? std::max(1.0, static_cast<double>(ranks) / static_cast<double>(cores)) : 1.0;
    const Prediction p = predict(profile, plan, bucket_bytes, ranks, slowdown, net, algorithm);
    const Prediction ring =
        predict(profile, plan, bucket_bytes, ranks, slowdown, net, Algorithm::ring);
    const Prediction tree =
        predict(profile, plan, bucket_bytes, ranks, slowdown, net, Algorithm::tree);
    const std::string used = ranks == 1                                                ? "-"
                             : p.tree_buckets == 0                                     ? "ring"
                             : p.tree_buckets == static_cast<int>(plan.buckets.size()) ? "tree"
                                                                                       : "mixed";
    report.add_row({std::to_string(ranks), used, fixed(p.allreduce_ms, 3), fixed(p.exposed_ms, 3),
                    fixed(p.step_ms, 3), fixed(single.step_ms / p.step_ms, 3),
                    fixed(ring.exposed_ms, 3), fixed(tree.exposed_ms, 3)});
  }
  report.print(std::cout, format);
  return 0;
}

}  // namespace ddp::bench
