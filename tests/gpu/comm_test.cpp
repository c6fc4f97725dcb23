// Collectives on GPU tensors, under mpirun: the NCCL group (when every rank has a GPU of its own)
// and the MPI group's pinned staging path (which also runs with ranks sharing one GPU). Every
// result, on the device and on the CPU for the same inputs, equals the value the ranks'
// contributions determine. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "../mpi/mpi_test_env.hpp"
#include "ddp/comm/backend.hpp"
#include "ddp/kernels/convert.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using testing_env::world;

const DType kDTypes[] = {DType::float32, DType::float64, DType::int32, DType::int64,
                         DType::bfloat16};

// The value rank r contributes at element i: small integers, exact in every dtype and in sums.
double contribution(int rank, std::int64_t i) {
  return rank + 1 + static_cast<double>(i % 5);
}

// A host tensor of dtype holding values.
Tensor host_tensor(const std::vector<double>& values, DType dtype) {
  const auto n = static_cast<std::int64_t>(values.size());
  std::vector<float> floats(values.begin(), values.end());
  switch (dtype) {
    case DType::float64:
      return Tensor::from_vector(values, {n});
    case DType::int32:
      return Tensor::from_vector(std::vector<std::int32_t>(values.begin(), values.end()), {n});
    case DType::int64:
      return Tensor::from_vector(std::vector<std::int64_t>(values.begin(), values.end()), {n});
    case DType::bfloat16: {
      Tensor bf16 = Tensor::empty({n}, DType::bfloat16);
      kernels::to_bfloat16(Tensor::from_vector(floats, {n}), bf16);
      return bf16;
    }
    default:
      return Tensor::from_vector(floats, {n});
  }
}

std::vector<double> values_of(const Tensor& tensor) {
  Tensor host = tensor.to(Device::cpu());
  switch (host.dtype()) {
    case DType::float64: {
      return host.to_vector<double>();
    }
    case DType::int32: {
      auto v = host.to_vector<std::int32_t>();
      return {v.begin(), v.end()};
    }
    case DType::int64: {
      auto v = host.to_vector<std::int64_t>();
      return {v.begin(), v.end()};
    }
    case DType::bfloat16: {
      Tensor floats = Tensor::empty(host.shape(), DType::float32);
      kernels::from_bfloat16(host, floats);
      auto v = floats.to_vector<float>();
      return {v.begin(), v.end()};
    }
    default: {
      auto v = host.to_vector<float>();
      return {v.begin(), v.end()};
    }
  }
}

std::vector<double> contributions(int rank, std::int64_t count) {
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) values[i] = contribution(rank, i);
  return values;
}

// avg may round differently (NCCL scales before summing); everything else is exact.
void expect_values(const std::vector<double>& got, const std::vector<double>& want, DType dtype,
                   bool exact, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double tolerance = exact ? 0 : dtype == DType::bfloat16 ? 1e-2 : 1e-6;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tolerance * std::abs(want[i]))
        << what << " (" << to_string(dtype) << ") element " << i;
  }
}

// The ProcessGroup the suite tests and the device its tensors live on.
struct Target {
  std::shared_ptr<ProcessGroup> group;
  Device device;
};

class GpuCollectives : public GpuTest {
 protected:
  // A collective run on input (a copy of values) and output on the group's device, and on the
  // same host tensors over the MPI world (when MPI takes the dtype and op): both give want.
  using Collective = std::function<WorkPtr(ProcessGroup&, Tensor input, Tensor output)>;

  void check(const Target& target, DType dtype, const std::vector<double>& input_values,
             std::int64_t output_count, const std::vector<double>& want, bool exact,
             bool mpi_takes_it, const Collective& collective, const std::string& what) {
    Tensor input = host_tensor(input_values, dtype).to(target.device);
    Tensor output = Tensor::zeros({output_count}, dtype, target.device);
    collective(*target.group, input, output)->wait();
    expect_values(values_of(output), want, dtype, exact, what + " on " + target.group->backend());
    if (!mpi_takes_it) return;
    Tensor host_input = host_tensor(input_values, dtype);
    Tensor host_output = Tensor::zeros({output_count}, dtype);
    collective(world(), host_input, host_output)->wait();
    expect_values(values_of(host_output), want, dtype, exact, what + " on the CPU");
  }

  void every_collective(const Target& target) {
    const int n = target.group->size(), r = target.group->rank();
    const std::int64_t count = 1001;
    for (DType dtype : kDTypes) {
      std::vector<double> mine = contributions(r, count);
      for (ReduceOp op : {ReduceOp::sum, ReduceOp::avg, ReduceOp::min, ReduceOp::max}) {
        if (op == ReduceOp::avg && !is_floating(dtype)) continue;
        bool mpi_takes_it = dtype != DType::bfloat16 || op == ReduceOp::sum;
        bool staged = target.group->backend() == "mpi";
        if (staged && !mpi_takes_it) continue;
        std::vector<double> want(count);
        for (std::int64_t i = 0; i < count; ++i) {
          double sum = 0;
          for (int k = 0; k < n; ++k) sum += contribution(k, i);
          want[i] = op == ReduceOp::sum   ? sum
                    : op == ReduceOp::avg ? sum / n
                    : op == ReduceOp::min ? contribution(0, i)
                                          : contribution(n - 1, i);
        }
        bool exact = op != ReduceOp::avg;
        check(
            target, dtype, mine, count, want, exact, mpi_takes_it,
            [op](ProcessGroup& g, Tensor in, Tensor out) {
              return g.all_reduce_async(in, out, op);
            },
            "all_reduce " + to_string(op));
        check(
            target, dtype, mine, count, want, exact, mpi_takes_it,
            [op](ProcessGroup& g, Tensor in, Tensor out) {
              WorkPtr work = g.all_reduce_async(in, op);
              work->wait();
              out.copy_(in);
              return work;
            },
            "all_reduce in place " + to_string(op));
        std::vector<double> scattered(7);
        for (std::int64_t i = 0; i < 7; ++i) {
          double sum = 0;
          for (int k = 0; k < n; ++k) sum += contribution(k, r * 7 + i);
          scattered[i] = op == ReduceOp::sum   ? sum
                         : op == ReduceOp::avg ? sum / n
                         : op == ReduceOp::min ? contribution(0, r * 7 + i)
                                               : contribution(n - 1, r * 7 + i);
        }
        check(
            target, dtype, contributions(r, 7 * n), 7, scattered, exact, mpi_takes_it,
            [op](ProcessGroup& g, Tensor in, Tensor out) {
              return g.reduce_scatter_async(in, out, op);
            },
            "reduce_scatter " + to_string(op));
      }
      for (int root = 0; root < n; ++root) {
        check(
            target, dtype, mine, count, contributions(root, count), true, true,
            [root](ProcessGroup& g, Tensor in, Tensor out) {
              WorkPtr work = g.broadcast_async(in, root);
              work->wait();
              out.copy_(in);
              return work;
            },
            "broadcast from " + std::to_string(root));
      }
      std::vector<double> gathered;
      for (int k = 0; k < n; ++k) {
        auto block = contributions(k, 5);
        gathered.insert(gathered.end(), block.begin(), block.end());
      }
      check(
          target, dtype, contributions(r, 5), 5 * n, gathered, true, true,
          [](ProcessGroup& g, Tensor in, Tensor out) { return g.all_gather_async(in, out); },
          "all_gather");
      // Rank k contributes k + 2 elements, rank 0 none when there are several.
      Counts counts(n);
      std::vector<double> gathered_v;
      for (int k = 0; k < n; ++k) {
        counts[k] = n > 1 && k == 0 ? 0 : k + 2;
        auto block = contributions(k, counts[k]);
        gathered_v.insert(gathered_v.end(), block.begin(), block.end());
      }
      const std::int64_t total = static_cast<std::int64_t>(gathered_v.size());
      check(
          target, dtype, contributions(r, counts[r]), total, gathered_v, true, true,
          [counts](ProcessGroup& g, Tensor in, Tensor out) {
            return g.all_gatherv_async(in, out, counts);
          },
          "all_gatherv");
      for (int root : {0, n - 1}) {
        std::vector<double> want = r == root ? gathered_v : std::vector<double>(total, 0.0);
        check(
            target, dtype, contributions(r, counts[r]), total, want, true, true,
            [counts, root](ProcessGroup& g, Tensor in, Tensor out) {
              return g.gatherv_async(in, out, counts, root);
            },
            "gatherv to " + std::to_string(root));
        std::vector<double> source = contributions(root, total);
        std::int64_t offset = 0;
        for (int k = 0; k < r; ++k) offset += counts[k];
        std::vector<double> block(source.begin() + offset, source.begin() + offset + counts[r]);
        check(
            target, dtype, source, counts[r], block, true, true,
            [counts, root](ProcessGroup& g, Tensor in, Tensor out) {
              return g.scatterv_async(in, out, counts, root);
            },
            "scatterv from " + std::to_string(root));
      }
    }
    target.group->barrier_async()->synchronize();
  }
};

TEST_F(GpuCollectives, MpiStagingMatchesTheCpu) {
  int device = kernels::cuda_device_for_local_rank(testing_env::runtime->local_rank());
  every_collective({testing_env::runtime->world(), Device::cuda(device)});
}

TEST_F(GpuCollectives, NcclWhereEveryRankHasAGpu) {
  Runtime& runtime = *testing_env::runtime;
  if (runtime.local_size() > kernels::cuda_device_count()) {
    GTEST_SKIP() << runtime.local_size() << " ranks share " << kernels::cuda_device_count()
                 << " GPU(s): NCCL needs one per rank";
  }
  Device device = Device::cuda(kernels::cuda_device_for_local_rank(runtime.local_rank()));
  std::shared_ptr<ProcessGroup> nccl = make_process_group(runtime, Backend::nccl, device);
  ASSERT_EQ(nccl->backend(), "nccl");
  every_collective({nccl, device});
  // A split into one group per rank parity reduces over its own ranks only.
  std::shared_ptr<ProcessGroup> half = nccl->split(nccl->rank() % 2, nccl->rank());
  ASSERT_NE(half, nullptr);
  Tensor one = Tensor::from_vector(std::vector<float>{1.0f}, {1}).to(device);
  half->all_reduce_async(one, ReduceOp::sum)->synchronize();
  EXPECT_EQ(one.to_vector<float>()[0], static_cast<float>(half->size()));
  EXPECT_EQ(make_process_group(runtime, Backend::automatic, device)->backend(), "nccl");
}

TEST_F(GpuCollectives, NcclRefusesHostTensors) {
  Runtime& runtime = *testing_env::runtime;
  if (runtime.local_size() > kernels::cuda_device_count()) GTEST_SKIP() << "GPUs shared";
  Device device = Device::cuda(kernels::cuda_device_for_local_rank(runtime.local_rank()));
  std::shared_ptr<ProcessGroup> nccl = make_process_group(runtime, Backend::nccl, device);
  Tensor host = Tensor::zeros({4});
  EXPECT_THROW(nccl->all_reduce(host), Error);
}

}  // namespace
}  // namespace ddp
