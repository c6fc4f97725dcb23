// ddp-bench allreduce: the process group's all-reduce (hierarchical across nodes, where the
// topology picks it) against raw flat MPI_Allreduce on the same buffer in the same run, per size:
// time, algbw, busbw (as nccl-tests define them), a count of wrong elements, and with --link-gbits
// the rate each node's link carries against that link's rate.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "cli_options.hpp"
#include "ddp/comm/mpi_baseline.hpp"
#include "ddp/comm/topology.hpp"
#include "report.hpp"
#include "subcommands.hpp"
#include "timing.hpp"

namespace ddp::bench {
namespace {

namespace po = boost::program_options;

struct AllReduceOptions {
  std::int64_t min_bytes = 4;
  std::int64_t max_bytes = 64 << 20;
  int iters = 20;  // timed all-reduces per trial; more smooths noise, costs time at large sizes
  int warmup = 5;  // untimed all-reduces before each trial: first touches, MPI's lazy set-up
  int trials = 3;  // each side keeps its best trial, so a noisy moment does not decide the ratio
  std::string format = "table";
  std::string buffers = "group";  // group: collective_buffer, as DDP's buckets; plain: host memory
  double link_gbits = 0;  // each node's link rate, Gbit/s: the physical limit across nodes; 0: none
};

// Element i of rank r: small integers, so every sum is exact in float32 and can be checked.
float contribution(int rank, std::int64_t i) {
  return static_cast<float>(rank + 1 + i % 7);
}

double time_process_group(ProcessGroup& group, const Tensor& buffer, int iters) {
  std::vector<WorkPtr> works;
  works.reserve(iters);
  group.barrier();
  auto start = Clock::now();
  // Issued back to back and waited once, as nccl-tests time their operations: the queue stays full.
  for (int i = 0; i < iters; ++i) works.push_back(group.all_reduce_async(buffer));
  // Newest first: the group completes in issue order, so the caller sleeps (and is woken) once.
  for (auto work = works.rbegin(); work != works.rend(); ++work) (*work)->wait();
  return std::chrono::duration<double>(Clock::now() - start).count() / iters;
}

double time_raw_mpi(ProcessGroup& group, const Tensor& buffer, int iters) {
  group.barrier();
  auto start = Clock::now();
  mpi_baseline::all_reduce_loop(buffer, iters);
  return std::chrono::duration<double>(Clock::now() - start).count() / iters;
}

std::int64_t count_wrong(ProcessGroup& group, Tensor t) {
  const std::int64_t count = t.numel();
  for (std::int64_t i = 0; i < count; ++i) t.data<float>()[i] = contribution(group.rank(), i);
  group.all_reduce(t);
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    float expected = 0;
    for (int r = 0; r < group.size(); ++r) expected += contribution(r, i);
    wrong += t.data<float>()[i] != expected;
  }
  Tensor total = Tensor::from_vector<std::int64_t>({wrong}, {1});
  group.all_reduce(total);
  return total.data<std::int64_t>()[0];
}

}  // namespace

int allreduce(Runtime& runtime, int argc, char** argv) {
  AllReduceOptions o;
  po::options_description description("ddp-bench allreduce: in-place float32 sum, sizes doubling");
  description.add_options()("help,h", "this help")(
      "min-bytes", po::value(&o.min_bytes)->default_value(o.min_bytes), "smallest message")(
      "max-bytes", po::value(&o.max_bytes)->default_value(o.max_bytes), "largest message")(
      "iters", po::value(&o.iters)->default_value(o.iters), "timed operations per trial")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed operations first")(
      "trials", po::value(&o.trials)->default_value(o.trials), "trials per size; the best counts")(
      "format", po::value(&o.format)->default_value(o.format), "table or csv")(
      "buffers", po::value(&o.buffers)->default_value(o.buffers),
      "group: from the group's collective_buffer, as DDP's buckets (shared memory on one node); "
      "plain: ordinary host memory")(
      "link-gbits", po::value(&o.link_gbits)->default_value(o.link_gbits),
      "each node's link rate in Gbit/s: adds what a link carries (algbw x 2(nodes-1)/nodes) "
      "against it; 0 leaves it out");
  if (!cli::parse_options(argc, argv, description, runtime.world().get())) return 0;
  Format format = parse_format(o.format);
  DDP_CHECK_ARG(o.min_bytes >= 4 && o.max_bytes >= o.min_bytes,
                "--min-bytes must be at least 4 and --max-bytes at least --min-bytes");
  DDP_CHECK_ARG(o.buffers == "group" || o.buffers == "plain",
                "--buffers '" << o.buffers << "' is not known; use group or plain");
  DDP_CHECK_ARG(o.iters > 0 && o.warmup >= 0 && o.trials > 0,
                "--iters and --trials must be positive and --warmup not negative");
  DDP_CHECK_ARG(o.link_gbits >= 0, "--link-gbits " << o.link_gbits << " must not be negative");

  ProcessGroup& group = *runtime.world();
  const int n = group.size();
  const double bus_factor = n > 1 ? 2.0 * (n - 1) / n : 1.0;
  const NodeLayout layout = node_layout(group);
  // What each node sends over its link per byte all-reduced, at the least: 2(N-1)/N for N nodes.
  const double link_factor = layout.nodes > 1 ? 2.0 * (layout.nodes - 1) / layout.nodes : 1.0;
  const bool with_link = o.link_gbits > 0;
  std::vector<std::string> columns = {"bytes",
                                      "count",
                                      "time_us",
                                      "algbw_gbps",
                                      "busbw_gbps",
                                      "baseline_time_us",
                                      "baseline_busbw_gbps",
                                      "vs_baseline"};
  if (with_link) {
    for (const char* column : {"link_gbits", "baseline_link_gbits", "vs_link"}) {
      columns.push_back(column);
    }
  }
  columns.push_back("errors");
  Report report(columns);
  std::int64_t total_wrong = 0;
  for (std::int64_t bytes = o.min_bytes; bytes <= o.max_bytes; bytes *= 2) {
    std::int64_t count = bytes / 4;
    Tensor buffer = o.buffers == "group" ? group.collective_buffer({count}, DType::float32)
                                         : Tensor::zeros({count});
    std::int64_t wrong = count_wrong(group, buffer);
    total_wrong += wrong;
    // The baseline runs on the same memory, so that only the algorithm differs.
    double ours = 1e30, baseline = 1e30;
    for (int trial = 0; trial < o.trials; ++trial) {
      time_process_group(group, buffer, o.warmup);
      ours = std::min(ours, slowest(group, time_process_group(group, buffer, o.iters)));
      time_raw_mpi(group, buffer, o.warmup);
      baseline = std::min(baseline, slowest(group, time_raw_mpi(group, buffer, o.iters)));
    }
    double algbw = static_cast<double>(count * 4) / ours / 1e9;
    double baseline_algbw = static_cast<double>(count * 4) / baseline / 1e9;
    std::vector<std::string> row = {std::to_string(count * 4),
                                    std::to_string(count),
                                    fixed(ours * 1e6, 2),
                                    fixed(algbw, 3),
                                    fixed(algbw * bus_factor, 3),
                                    fixed(baseline * 1e6, 2),
                                    fixed(baseline_algbw * bus_factor, 3),
                                    fixed(baseline / ours, 3)};
    if (with_link) {
      const double link = algbw * link_factor * 8, baseline_link = baseline_algbw * link_factor * 8;
      row.push_back(fixed(link, 3));
      row.push_back(fixed(baseline_link, 3));
      row.push_back(fixed(link / o.link_gbits, 3));
    }
    row.push_back(std::to_string(wrong));
    report.add_row(row);
  }
  if (runtime.rank() == 0) {
    if (format == Format::table) {
      std::cout << "# all_reduce float32 sum in place on " << o.buffers << " buffers, " << n
                << " ranks (" << to_string(layout) << "), best of " << o.trials << " trials of "
                << o.iters << "; busbw = algbw * 2(n-1)/n (algbw when n = 1);"
                << " vs_baseline = raw flat MPI_Allreduce time / ddp time\n";
      if (with_link) {
        std::cout << "# link_gbits = algbw * 8 * 2(nodes-1)/nodes, what each node's link carries; "
                  << "vs_link = link_gbits / " << o.link_gbits << " (--link-gbits)\n";
      }
    }
    report.print(std::cout, format);
  }
  DDP_CHECK(total_wrong == 0, total_wrong << " elements were reduced wrongly");
  return 0;
}

}  // namespace ddp::bench
