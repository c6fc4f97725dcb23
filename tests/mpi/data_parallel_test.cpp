// The DataParallel primitives across ranks: torch.chunk sizes, scatter, gather, all_gather, and
// the bfloat16 sum that gradient compression all-reduces with.
#include <gtest/gtest.h>

#include <numeric>

#include "ddp/core/bfloat16.hpp"
#include "ddp/parallel/data_parallel.hpp"
#include "mpi_test_env.hpp"

namespace ddp::parallel {
namespace {

using testing_env::world;

TEST(ChunkSizes, AsTorchChunk) {
  EXPECT_EQ(chunk_sizes(30, 4), (std::vector<std::int64_t>{8, 8, 8, 6}));
  EXPECT_EQ(chunk_sizes(10, 8), (std::vector<std::int64_t>{2, 2, 2, 2, 2, 0, 0, 0}));
  EXPECT_EQ(chunk_sizes(0, 2), (std::vector<std::int64_t>{0, 0}));
}

// The tutorial's batch: 30 rows of 5, row i filled with i.
Tensor tutorial_batch() {
  std::vector<float> values(30 * 5);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i / 5);
  return Tensor::from_vector(values, {30, 5});
}

TEST(DataParallel, ScatterGatherAndAllGatherRoundTrip) {
  const int n = world().size(), r = world().rank();
  for (int root = 0; root < n; ++root) {
    Tensor input = r == root ? tutorial_batch() : Tensor{};
    Tensor mine = scatter(world(), input, root);
    const auto sizes = chunk_sizes(30, n);
    const std::int64_t first = std::accumulate(sizes.begin(), sizes.begin() + r, std::int64_t{0});
    ASSERT_EQ(mine.shape(), (Shape{sizes[r], 5}));
    for (std::int64_t i = 0; i < mine.numel(); ++i) {
      ASSERT_EQ(mine.data<float>()[i], static_cast<float>(first + i / 5));
    }
    Tensor gathered = gather(world(), mine, root);
    if (r == root) {
      ASSERT_EQ(gathered.shape(), (Shape{30, 5}));
      EXPECT_EQ(gathered.to_vector<float>(), tutorial_batch().to_vector<float>());
    } else {
      EXPECT_FALSE(gathered.defined());
    }
    Tensor everywhere = all_gather(world(), mine);
    EXPECT_EQ(everywhere.to_vector<float>(), tutorial_batch().to_vector<float>());
  }
}

TEST(DataParallel, ScatterOfTenOverMoreRanksGivesEmptyChunks) {
  std::vector<std::int64_t> labels(10);
  std::iota(labels.begin(), labels.end(), 0);
  Tensor input = world().rank() == 0 ? Tensor::from_vector(labels, {10}) : Tensor{};
  Tensor mine = scatter(world(), input);
  EXPECT_EQ(mine.dtype(), DType::int64);
  EXPECT_EQ(mine.size(0), chunk_sizes(10, world().size())[world().rank()]);
  EXPECT_EQ(all_gather(world(), mine).to_vector<std::int64_t>(), labels);
}

TEST(Bfloat16AllReduce, SumsExactlyWhereBf16CanAndRoundsToNearestEven) {
  const int n = world().size(), r = world().rank();
  // Small integers: every partial sum is exact in bfloat16, whatever order MPI adds in.
  const std::int64_t count = 1001;
  Tensor t = Tensor::empty({count}, DType::bfloat16);
  auto* bits = static_cast<std::uint16_t*>(t.data_ptr());
  for (std::int64_t i = 0; i < count; ++i) bits[i] = float_to_bfloat16(float(r + 1 + i % 3));
  world().all_reduce(t);
  for (std::int64_t i = 0; i < count; ++i) {
    const float expected = float(n * (n + 1) / 2 + n * (i % 3));
    ASSERT_EQ(bfloat16_to_float(bits[i]), expected) << "element " << i;
  }
  // 256 + 1 needs 9 significant bits: a tie between 256 and 258, rounded to the even 256.
  Tensor tie = Tensor::empty({1}, DType::bfloat16);
  auto* tie_bits = static_cast<std::uint16_t*>(tie.data_ptr());
  tie_bits[0] = float_to_bfloat16(r == 0 ? 256.0f : (r == 1 ? 1.0f : 0.0f));
  world().all_reduce(tie);
  EXPECT_EQ(bfloat16_to_float(tie_bits[0]), 256.0f);
  EXPECT_THROW(world().all_reduce(tie, ReduceOp::max), Error);
}

}  // namespace
}  // namespace ddp::parallel
