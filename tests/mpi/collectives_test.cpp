// Every collective of the MPI process group, checked element by element on every rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "contribution.hpp"
#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::contribution;
using testing_env::filled;
using testing_env::world;

template <typename T>
class AllReduce : public ::testing::Test {};
using AllDTypes = ::testing::Types<float, double, std::int32_t, std::int64_t>;
TYPED_TEST_SUITE(AllReduce, AllDTypes);

TYPED_TEST(AllReduce, SumMinMaxInPlaceAndOutOfPlace) {
  const int n = world().size(), r = world().rank();
  for (std::int64_t count : {0, 1, 7, 100003}) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::min, ReduceOp::max}) {
      Tensor in_place = filled<TypeParam>(count, r);
      world().all_reduce(in_place, op);
      Tensor input = filled<TypeParam>(count, r);
      Tensor output = Tensor::zeros({count}, dtype_of<TypeParam>());
      world().all_reduce(input, output, op);
      for (std::int64_t i = 0; i < count; ++i) {
        double expected = 0;
        if (op == ReduceOp::sum) {
          for (int k = 0; k < n; ++k) expected += contribution(k, i);
        } else {
          expected = contribution(op == ReduceOp::min ? 0 : n - 1, i);
        }
        ASSERT_EQ(in_place.data<TypeParam>()[i], static_cast<TypeParam>(expected))
            << to_string(op) << " count " << count << " i " << i;
        ASSERT_EQ(output.data<TypeParam>()[i], static_cast<TypeParam>(expected));
        ASSERT_EQ(input.data<TypeParam>()[i], static_cast<TypeParam>(contribution(r, i)))
            << "out-of-place all_reduce changed its input";
      }
    }
  }
}

TEST(AllReduceAvg, AveragesFloatsAndRefusesIntegers) {
  const int n = world().size();
  Tensor t = filled<double>(10, world().rank());
  world().all_reduce(t, ReduceOp::avg);
  for (std::int64_t i = 0; i < 10; ++i) {
    double sum = 0;
    for (int k = 0; k < n; ++k) sum += contribution(k, i);
    EXPECT_DOUBLE_EQ(t.data<double>()[i], sum / n);
  }
  Tensor ints = filled<std::int32_t>(4, world().rank());
  EXPECT_THROW(world().all_reduce(ints, ReduceOp::avg), Error);
}

TEST(Broadcast, FromEveryRoot) {
  for (int root = 0; root < world().size(); ++root) {
    Tensor t = filled<float>(33, world().rank());
    world().broadcast(t, root);
    for (std::int64_t i = 0; i < 33; ++i) ASSERT_EQ(t.data<float>()[i], contribution(root, i));
  }
}

TEST(AllGather, OutOfPlaceAndInPlace) {
  const int n = world().size(), r = world().rank();
  const std::int64_t block = 6;
  Tensor output = Tensor::zeros({n * block}, DType::int64);
  world().all_gather(filled<std::int64_t>(block, r), output);
  Tensor in_place = Tensor::zeros({n * block}, DType::int64);
  in_place.rows(r * block, (r + 1) * block).copy_(filled<std::int64_t>(block, r));
  world().all_gather(in_place.rows(r * block, (r + 1) * block), in_place);
  for (int k = 0; k < n; ++k) {
    for (std::int64_t i = 0; i < block; ++i) {
      ASSERT_EQ(output.data<std::int64_t>()[k * block + i], contribution(k, i));
      ASSERT_EQ(in_place.data<std::int64_t>()[k * block + i], contribution(k, i));
    }
  }
}

// Rank r contributes r elements: rank 0 sends nothing, counts are uneven.
Counts uneven_counts(int n) {
  Counts counts(n);
  std::iota(counts.begin(), counts.end(), 0);
  return counts;
}

void expect_concatenation(const Tensor& output, const Counts& counts) {
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    for (std::int64_t i = 0; i < counts[k]; ++i) {
      ASSERT_EQ(output.data<float>()[offset + i], contribution(static_cast<int>(k), i));
    }
    offset += counts[k];
  }
}

TEST(AllGatherv, UnevenCountsIncludingZero) {
  const int n = world().size(), r = world().rank();
  Counts counts = uneven_counts(n);
  std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  Tensor output = Tensor::zeros({total});
  world().all_gatherv(filled<float>(counts[r], r), output, counts);
  expect_concatenation(output, counts);
}

TEST(Gather, EqualAndUnevenToEveryRoot) {
  const int n = world().size(), r = world().rank();
  Counts counts = uneven_counts(n);
  std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  for (int root = 0; root < n; ++root) {
    Tensor equal = Tensor::zeros({3 * n});
    world().gather(filled<float>(3, r), equal, root);
    Tensor uneven = Tensor::zeros({total});
    world().gatherv(filled<float>(counts[r], r), uneven, counts, root);
    if (r == root) {
      expect_concatenation(equal, Counts(n, 3));
      expect_concatenation(uneven, counts);
    } else {
      for (float v : equal.to_vector<float>())
        ASSERT_EQ(v, 0.0f) << "a non-root output was written";
    }
  }
}

TEST(Scatter, EqualAndUnevenFromEveryRoot) {
  const int n = world().size(), r = world().rank();
  Counts counts = uneven_counts(n);
  std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  for (int root = 0; root < n; ++root) {
    // The root's input is what a gather would produce: block k holds rank k's contribution.
    Tensor equal_input = Tensor::zeros({2 * n});
    Tensor uneven_input = Tensor::zeros({total});
    std::int64_t offset = 0;
    for (int k = 0; k < n; ++k) {
      equal_input.rows(2 * k, 2 * k + 2).copy_(filled<float>(2, k));
      uneven_input.rows(offset, offset + counts[k]).copy_(filled<float>(counts[k], k));
      offset += counts[k];
    }
    Tensor equal = Tensor::zeros({2});
    world().scatter(equal_input, equal, root);
    Tensor uneven = Tensor::zeros({counts[r]});
    world().scatterv(uneven_input, uneven, counts, root);
    for (std::int64_t i = 0; i < 2; ++i) ASSERT_EQ(equal.data<float>()[i], contribution(r, i));
    for (std::int64_t i = 0; i < counts[r]; ++i) {
      ASSERT_EQ(uneven.data<float>()[i], contribution(r, i));
    }
  }
}

TEST(ReduceScatter, EachRankGetsTheSumOfItsBlock) {
  const int n = world().size(), r = world().rank();
  const std::int64_t block = 4;
  Tensor input = filled<float>(block * n, r);
  Tensor output = Tensor::zeros({block});
  world().reduce_scatter(input, output, ReduceOp::sum);
  for (std::int64_t i = 0; i < block; ++i) {
    double expected = 0;
    for (int k = 0; k < n; ++k) expected += contribution(k, r * block + i);
    ASSERT_EQ(output.data<float>()[i], expected);
  }
}

TEST(ReduceScatter, InPlaceOutputIsTheRanksBlockOfTheInput) {
  const int n = world().size(), r = world().rank();
  const std::int64_t block = 5;
  Tensor input = filled<float>(block * n, r);
  Tensor output = input.view(r * block, {block});
  world().reduce_scatter(input, output, ReduceOp::sum);
  for (std::int64_t i = 0; i < block; ++i) {
    double expected = 0;
    for (int k = 0; k < n; ++k) expected += contribution(k, r * block + i);
    ASSERT_EQ(output.data<float>()[i], expected) << "element " << i;
  }
}

TEST(Barrier, Completes) {
  world().barrier();
}

TEST(Async, CollectivesProgressWhileTheCallerComputes) {
  Tensor big = filled<float>(1 << 20, world().rank());
  std::vector<WorkPtr> works;
  for (int i = 0; i < 4; ++i)
    works.push_back(world().all_reduce_async(big.rows(i << 18, (i + 1) << 18)));
  // Busy caller: never calls into the group, yet every collective completes in the background.
  volatile double sink = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::all_of(works.begin(), works.end(), [](auto& w) { return w->is_completed(); })) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "async work made no progress";
    for (int k = 0; k < 1000; ++k) sink = sink + k * 0.5;
  }
  for (auto& w : works) w->wait();
  double expected = 0;
  for (int k = 0; k < world().size(); ++k) expected += contribution(k, 0);
  EXPECT_EQ(big.data<float>()[0], expected);
}

TEST(Async, WorkCompletesInIssueOrder) {
  std::vector<Tensor> tensors;
  std::vector<WorkPtr> works;
  for (int i = 0; i < 20; ++i) {
    tensors.push_back(filled<std::int32_t>(100 + i, world().rank()));
    works.push_back(world().all_reduce_async(tensors.back()));
  }
  works.back()->wait();
  for (auto& w : works) EXPECT_TRUE(w->is_completed()) << "a later collective finished first";
}

TEST(SubGroups, SplitByColorReducesWithinEachGroup) {
  const int n = world().size(), r = world().rank();
  auto group = world().split(r % 2, r);
  ASSERT_NE(group, nullptr);
  int expected_size = (n + 1 - r % 2) / 2;
  EXPECT_EQ(group->size(), expected_size);
  EXPECT_EQ(group->rank(), r / 2);
  Tensor t = Tensor::from_vector<std::int64_t>({r}, {1});
  group->all_reduce(t);
  std::int64_t expected = 0;
  for (int k = r % 2; k < n; k += 2) expected += k;
  EXPECT_EQ(t.data<std::int64_t>()[0], expected);

  auto only_zero = world().split(r == 0 ? 0 : -1, 0);
  EXPECT_EQ(only_zero == nullptr, r != 0);
}

TEST(Errors, BadArgumentsAreRefusedBeforeAnythingIsSent) {
  Tensor t = Tensor::zeros({4});
  EXPECT_THROW(world().broadcast(t, world().size()), Error);
  EXPECT_THROW(world().all_gather(t, Tensor::zeros({4 * world().size() + 1})), Error);
  EXPECT_THROW(world().all_gatherv(t, Tensor::zeros({4}), Counts(world().size() + 1, 4)), Error);
  EXPECT_THROW(world().all_reduce(t, Tensor::zeros({4}, DType::float64), ReduceOp::sum), Error);
  // The group still works after refusing.
  world().all_reduce(t);
}

}  // namespace
}  // namespace ddp
