// Load: 1,000 collectives of random kinds, dtypes and sizes (0 to 1 MiB), blocking and several
// async ones in flight together, in an order every rank derives from one seed; every element of
// every result is checked. Any mismatch, hang (the watchdog) or crash fails the run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::world;

constexpr int kCollectives = 1000;

// What rank r contributes at element i of collective `op`: a small integer, so sums over ranks are
// exact in every dtype, and rank r's values lie in [16(r+1), 16(r+1)+13) so min and max over ranks
// are rank 0's and rank n-1's.
double contribution(int rank, int op, std::int64_t i) {
  return 16.0 * (rank + 1) + static_cast<double>((i + op) % 13);
}

double element(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::float32:
      return t.data<float>()[i];
    case DType::float64:
      return t.data<double>()[i];
    case DType::int32:
      return t.data<std::int32_t>()[i];
    case DType::int64:
      return static_cast<double>(t.data<std::int64_t>()[i]);
    default:
      ADD_FAILURE() << "unexpected dtype " << to_string(t.dtype());
      return 0;
  }
}

void set_element(const Tensor& t, std::int64_t i, double value) {
  switch (t.dtype()) {
    case DType::float32:
      t.data<float>()[i] = static_cast<float>(value);
      break;
    case DType::float64:
      t.data<double>()[i] = value;
      break;
    case DType::int32:
      t.data<std::int32_t>()[i] = static_cast<std::int32_t>(value);
      break;
    case DType::int64:
      t.data<std::int64_t>()[i] = static_cast<std::int64_t>(value);
      break;
    default:
      ADD_FAILURE() << "unexpected dtype " << to_string(t.dtype());
  }
}

// count elements of rank's contribution to op, starting at element first of the sequence.
Tensor filled(DType dtype, std::int64_t count, int rank, int op, std::int64_t first = 0) {
  Tensor t = Tensor::empty({count}, dtype);
  for (std::int64_t i = 0; i < count; ++i) set_element(t, i, contribution(rank, op, first + i));
  return t;
}

// Checks every element of t against expected(i); reports the first mismatch only.
void expect_elements(const Tensor& t, const std::function<double(std::int64_t)>& expected,
                     const std::string& what) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double want = expected(i), got = element(t, i);
    // avg divides by the world size, rounding in float32; everything else is exact.
    if (std::abs(got - want) > 1e-5 * std::abs(want)) {
      ADD_FAILURE() << what << ": element " << i << " of " << t.numel() << " is " << got
                    << ", expected " << want;
      return;
    }
  }
}

// reduce over ranks 0..n-1 of their contributions to collective op at element i.
double reduced(ReduceOp reduce, int n, int op, std::int64_t i) {
  if (reduce == ReduceOp::min) return contribution(0, op, i);
  if (reduce == ReduceOp::max) return contribution(n - 1, op, i);
  double sum = 0;
  for (int k = 0; k < n; ++k) sum += contribution(k, op, i);
  return reduce == ReduceOp::avg ? sum / n : sum;
}

struct Pending {
  WorkPtr work;
  std::function<void()> check;
};

// Draws collective `op` from rng (the same draws on every rank), issues it and returns how to
// wait for it and check it.
Pending issue(int op, std::mt19937_64& rng) {
  ProcessGroup& group = world();
  const int n = group.size(), r = group.rank();
  const std::string what = "collective #" + std::to_string(op);
  auto draw = [&rng](std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng);
  };
  const DType dtypes[] = {DType::float32, DType::float64, DType::int32, DType::int64};
  const DType dtype = dtypes[draw(0, 3)];
  // Up to 2^e bytes for e uniform in [0, 20]: mostly small messages, some near 1 MiB, a few empty.
  const std::int64_t bytes = draw(0, std::int64_t{1} << draw(0, 20));
  const std::int64_t count = bytes / static_cast<std::int64_t>(dtype_size(dtype));
  const int root = static_cast<int>(draw(0, n - 1));
  const ReduceOp reduce_ops[] = {ReduceOp::sum, ReduceOp::min, ReduceOp::max, ReduceOp::avg};
  const bool floating = dtype == DType::float32 || dtype == DType::float64;
  const ReduceOp reduce = reduce_ops[draw(0, floating ? 3 : 2)];  // avg is for floats only
  // Equal counts half of the time, for the plain gather and scatter; else some ranks send none.
  const bool equal = draw(0, 1) == 0;
  Counts counts(static_cast<std::size_t>(n));
  for (auto& c : counts) {
    c = equal ? count / n : draw(0, 3) == 0 ? 0 : draw(0, std::max<std::int64_t>(count / n, 1));
  }
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  // Concatenation of every rank's contribution, rank k's counts[k] elements after those of 0..k-1.
  auto concatenated = [=](std::int64_t i) {
    int k = 0;
    while (i >= counts[static_cast<std::size_t>(k)]) i -= counts[static_cast<std::size_t>(k++)];
    return contribution(k, op, i);
  };

  switch (draw(0, 7)) {
    case 0: {
      const bool in_place = draw(0, 1) == 0;
      Tensor input = filled(dtype, count, r, op);
      Tensor output = in_place ? input : Tensor::zeros({count}, dtype);
      auto expected = [=](std::int64_t i) { return reduced(reduce, n, op, i); };
      return {group.all_reduce_async(input, output, reduce), [=] {
                expect_elements(output, expected, what + " all_reduce " + to_string(reduce));
                if (!in_place) {
                  expect_elements(
                      input, [=](std::int64_t i) { return contribution(r, op, i); },
                      what + " all_reduce input");
                }
              }};
    }
    case 1: {
      Tensor t = filled(dtype, count, r, op);
      return {group.broadcast_async(t, root), [=] {
                expect_elements(
                    t, [=](std::int64_t i) { return contribution(root, op, i); },
                    what + " broadcast from " + std::to_string(root));
              }};
    }
    case 2: {
      const std::int64_t block = count / n;
      Tensor output = Tensor::zeros({block * n}, dtype);
      Tensor input = filled(dtype, block, r, op);
      if (draw(0, 1) == 0) {
        output.rows(r * block, (r + 1) * block).copy_(input);
        input = output.rows(r * block, (r + 1) * block);
      }
      return {group.all_gather_async(input, output), [=] {
                expect_elements(
                    output,
                    [=](std::int64_t i) {
                      return contribution(static_cast<int>(i / block), op, i % block);
                    },
                    what + " all_gather");
              }};
    }
    case 3: {
      Tensor output = Tensor::zeros({total}, dtype);
      return {group.all_gatherv_async(filled(dtype, counts[r], r, op), output, counts),
              [=] { expect_elements(output, concatenated, what + " all_gatherv"); }};
    }
    case 4: {
      Tensor input = filled(dtype, counts[r], r, op);
      Tensor output = Tensor::zeros({total}, dtype);
      const std::string name =
          what + (equal ? " gather to " : " gatherv to ") + std::to_string(root);
      WorkPtr work = equal ? group.gather_async(input, output, root)
                           : group.gatherv_async(input, output, counts, root);
      return {work, [=] {
                if (r == root) {
                  expect_elements(output, concatenated, name);
                } else {
                  expect_elements(
                      output, [](std::int64_t) { return 0.0; }, name + " wrote a non-root output");
                }
              }};
    }
    case 5: {
      // Root's input is the concatenation; every rank gets its own block back.
      Tensor input = Tensor::zeros({total}, dtype);
      if (r == root) {
        for (std::int64_t i = 0; i < total; ++i) set_element(input, i, concatenated(i));
      }
      Tensor output = Tensor::zeros({counts[r]}, dtype);
      WorkPtr work = equal ? group.scatter_async(input, output, root)
                           : group.scatterv_async(input, output, counts, root);
      return {work, [=] {
                expect_elements(
                    output, [=](std::int64_t i) { return contribution(r, op, i); },
                    what + (equal ? " scatter from " : " scatterv from ") + std::to_string(root));
              }};
    }
    case 6: {
      const std::int64_t block = count / n;
      Tensor output = Tensor::zeros({block}, dtype);
      return {group.reduce_scatter_async(filled(dtype, block * n, r, op), output, reduce), [=] {
                expect_elements(
                    output, [=](std::int64_t i) { return reduced(reduce, n, op, r * block + i); },
                    what + " reduce_scatter " + to_string(reduce));
              }};
    }
    default:
      return {group.barrier_async(), [] {}};
  }
}

TEST(Load, ThousandRandomCollectivesInFlightTogether) {
  // DDP_LOAD_SEED draws another sequence; rank 0's is broadcast so that every rank draws the same.
  const char* seed_text = std::getenv("DDP_LOAD_SEED");
  Tensor seed = Tensor::from_vector<std::int64_t>(
      {seed_text != nullptr ? std::stoll(seed_text) : std::int64_t{20261125}}, {1});
  world().broadcast(seed, 0);
  SCOPED_TRACE("DDP_LOAD_SEED=" + std::to_string(seed.data<std::int64_t>()[0]));
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed.data<std::int64_t>()[0]));

  for (int op = 0; op < kCollectives;) {
    // 1 to 8 collectives in flight at once, waited for in an order of their own.
    const int in_flight = std::min(static_cast<int>(std::uniform_int_distribution<int>(1, 8)(rng)),
                                   kCollectives - op);
    std::vector<Pending> pending;
    for (int k = 0; k < in_flight; ++k) pending.push_back(issue(op++, rng));
    std::shuffle(pending.begin(), pending.end(), rng);
    for (Pending& p : pending) {
      p.work->wait();
      p.check();
    }
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace ddp
