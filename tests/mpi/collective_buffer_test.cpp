// The group's collective buffers (shared memory among the ranks of one node): all-reduce on them
// gives every rank exactly what MPI_Allreduce gives, for every dtype, op, size and sub-range.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "contribution.hpp"
#include "ddp/core/bfloat16.hpp"
#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::contribution;
using testing_env::fill;
using testing_env::world;

template <typename T>
double expected(ReduceOp op, int ranks, std::int64_t i) {
  if (op == ReduceOp::min) return contribution(0, i);
  if (op == ReduceOp::max) return contribution(ranks - 1, i);
  double sum = 0;
  for (int r = 0; r < ranks; ++r) sum += contribution(r, i);
  return op == ReduceOp::avg ? static_cast<T>(sum) / static_cast<T>(ranks) : sum;
}

template <typename T>
class CollectiveBuffer : public ::testing::Test {};
using AllDTypes = ::testing::Types<float, double, std::int32_t, std::int64_t>;
TYPED_TEST_SUITE(CollectiveBuffer, AllDTypes);

TYPED_TEST(CollectiveBuffer, AllReduceMatchesEveryOpAndSize) {
  const int n = world().size(), r = world().rank();
  std::vector<ReduceOp> ops = {ReduceOp::sum, ReduceOp::min, ReduceOp::max};
  if (is_floating(dtype_of<TypeParam>())) ops.push_back(ReduceOp::avg);
  // Fewer elements than ranks, one share boundary off, and several blocks per share.
  for (std::int64_t count : {1, 3, 17, 4099, 100003}) {
    Tensor buffer = world().collective_buffer({count}, dtype_of<TypeParam>());
    for (std::int64_t i = 0; i < count; ++i) ASSERT_EQ(buffer.data<TypeParam>()[i], 0);
    for (ReduceOp op : ops) {
      fill<TypeParam>(buffer, r);
      world().all_reduce(buffer, op);
      for (std::int64_t i = 0; i < count; ++i) {
        ASSERT_EQ(buffer.data<TypeParam>()[i],
                  static_cast<TypeParam>(expected<TypeParam>(op, n, i)))
            << to_string(op) << " count " << count << " element " << i;
      }
    }
  }
}

TYPED_TEST(CollectiveBuffer, ReduceScatterInPlaceGivesEachOwnerTheAllReduceOfItsBlock) {
  const int n = world().size(), r = world().rank();
  std::vector<ReduceOp> ops = {ReduceOp::sum, ReduceOp::min, ReduceOp::max};
  if (is_floating(dtype_of<TypeParam>())) ops.push_back(ReduceOp::avg);
  for (std::int64_t block : {1, 16, 3001}) {
    Tensor buffer = world().collective_buffer({block * n}, dtype_of<TypeParam>());
    for (ReduceOp op : ops) {
      fill<TypeParam>(buffer, r);
      world().reduce_scatter(buffer, buffer.view(r * block, {block}), op);
      for (std::int64_t i = r * block; i < (r + 1) * block; ++i) {
        ASSERT_EQ(buffer.data<TypeParam>()[i],
                  static_cast<TypeParam>(expected<TypeParam>(op, n, i)))
            << to_string(op) << " block " << block << " element " << i;
      }
    }
  }
}

TYPED_TEST(CollectiveBuffer, AllGatherInPlaceCopiesEveryRanksBlock) {
  const int n = world().size(), r = world().rank();
  for (std::int64_t block : {1, 16, 3001}) {
    Tensor buffer = world().collective_buffer({block * n}, dtype_of<TypeParam>());
    // Each rank fills only its own block; the others hold a value no rank sends.
    for (std::int64_t i = 0; i < block * n; ++i) {
      buffer.data<TypeParam>()[i] =
          static_cast<TypeParam>(i / block == r ? contribution(r, i) : -1);
    }
    world().all_gather(buffer.view(r * block, {block}), buffer);
    for (std::int64_t i = 0; i < block * n; ++i) {
      ASSERT_EQ(buffer.data<TypeParam>()[i],
                static_cast<TypeParam>(contribution(static_cast<int>(i / block), i)))
          << "block " << block << " element " << i;
    }
  }
}

TEST(CollectiveBufferViews, SubRangesReduceAloneAndLeaveTheRestUntouched) {
  const int n = world().size(), r = world().rank();
  Tensor buffer = world().collective_buffer({1000}, DType::float32);
  fill<float>(buffer, r);
  Tensor middle = buffer.view(100, {300});
  std::vector<WorkPtr> works;
  // Issued back to back without waiting, as DDP issues its buckets.
  for (int i = 0; i < 3; ++i) works.push_back(world().all_reduce_async(middle));
  for (auto& work : works) work->wait();
  for (std::int64_t i = 0; i < 1000; ++i) {
    double value = contribution(r, i);
    if (i >= 100 && i < 400) {
      // Three sums in a row: n^2 copies of the first sum's total, all exact in float32.
      value = expected<float>(ReduceOp::sum, n, i - 100) * n * n;
    }
    ASSERT_EQ(buffer.data<float>()[i], static_cast<float>(value)) << "element " << i;
  }
}

TEST(CollectiveBufferViews, InterleavesWithCollectivesOnPlainMemory) {
  const int n = world().size(), r = world().rank();
  Tensor shared = world().collective_buffer({5000}, DType::float32);
  Tensor plain = Tensor::zeros({5000});
  for (int round = 0; round < 10; ++round) {
    fill<float>(shared, r);
    fill<float>(plain, r);
    WorkPtr a = world().all_reduce_async(shared);
    WorkPtr b = world().all_reduce_async(plain);
    WorkPtr c = world().all_reduce_async(shared.view(0, {10}), ReduceOp::max);
    a->wait();
    b->wait();
    c->wait();
    for (std::int64_t i = 0; i < 5000; ++i) {
      float sum = static_cast<float>(expected<float>(ReduceOp::sum, n, i));
      ASSERT_EQ(plain.data<float>()[i], sum);
      ASSERT_EQ(shared.data<float>()[i], sum) << "round " << round;
    }
  }
}

std::uint16_t* bf16(const Tensor& tensor) {
  return static_cast<std::uint16_t*>(tensor.data_ptr());
}

TEST(CollectiveBufferDTypes, BFloat16SumRoundsLikeTheMpiPath) {
  const int r = world().rank();
  const std::int64_t count = 777;
  Tensor shared = world().collective_buffer({count}, DType::bfloat16);
  Tensor plain = Tensor::zeros({count}, DType::bfloat16);
  for (std::int64_t i = 0; i < count; ++i) {
    // Values whose sums need rounding in bf16 (8 mantissa bits).
    float value = 1.0f + static_cast<float>((r * 37 + i) % 101) / 127.0f;
    bf16(shared)[i] = float_to_bfloat16(value);
    bf16(plain)[i] = float_to_bfloat16(value);
  }
  world().all_reduce(shared);
  world().all_reduce(plain);
  if (world().size() <= 2) {
    // Two ranks: one addition, the same rounding on both paths.
    for (std::int64_t i = 0; i < count; ++i) {
      ASSERT_EQ(bf16(shared)[i], bf16(plain)[i]) << i;
    }
  }
  // Every rank holds the same bits.
  Tensor as_float = Tensor::zeros({count});
  for (std::int64_t i = 0; i < count; ++i) {
    as_float.data<float>()[i] = bfloat16_to_float(bf16(shared)[i]);
  }
  Tensor low = as_float.clone();
  world().all_reduce(low, ReduceOp::min);
  for (std::int64_t i = 0; i < count; ++i)
    ASSERT_EQ(low.data<float>()[i], as_float.data<float>()[i]);
}

TEST(CollectiveBufferErrors, RanksReducingDifferentRangesAllFailWithBoth) {
  if (world().size() == 1) GTEST_SKIP() << "needs two ranks";
  Tensor buffer = world().collective_buffer({64}, DType::float32);
  if (buffer.data_ptr() == nullptr) GTEST_SKIP();
  const std::int64_t offset = world().rank() == 0 ? 0 : 16;
  try {
    world().all_reduce(buffer.view(offset, {16}));
    FAIL() << "ranks reducing different ranges must fail";
  } catch (const CommError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("every rank must issue the same collective on the "
                        "same tensor"),
              std::string::npos)
        << error.what();
  }
  // The group stays usable.
  Tensor after = world().collective_buffer({8}, DType::float32);
  after.data<float>()[0] = 1;
  world().all_reduce(after);
  EXPECT_EQ(after.data<float>()[0], static_cast<float>(world().size()));
}

TEST(CollectiveBufferErrors, RanksReducingWithDifferentOpsAllFailNamingBoth) {
  if (world().size() == 1) GTEST_SKIP() << "needs two ranks";
  Tensor buffer = world().collective_buffer({64}, DType::float32);
  if (buffer.data_ptr() == nullptr) GTEST_SKIP();
  try {
    world().all_reduce(buffer, world().rank() == 0 ? ReduceOp::sum : ReduceOp::max);
    FAIL() << "ranks reducing with different ops must fail";
  } catch (const CommError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("all_reduce of float32 (sum)"), std::string::npos) << message;
    EXPECT_NE(message.find("all_reduce of float32 (max)"), std::string::npos) << message;
  }
}

// The name of the file mapped at address in this process ("" for anonymous memory).
std::string mapping_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const auto where = reinterpret_cast<std::uintptr_t>(address);
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode >> path;
    std::uintptr_t begin = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    std::uintptr_t end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (where >= begin && where < end) return path;
  }
  return "";
}

TEST(CollectiveBufferPlacement, SharedMemoryOnOneNodePlainMemoryAlone) {
  Tensor buffer = world().collective_buffer({1024}, DType::float32);
  const std::string mapping = mapping_of(buffer.data_ptr());
  if (world().size() == 1) {
    EXPECT_EQ(mapping.find("/dev/shm"), std::string::npos) << mapping;
  } else {
    // Every test here runs its ranks on one node; the name is already removed ("(deleted)").
    EXPECT_EQ(mapping.rfind("/dev/shm/ddp-", 0), 0u) << "buffer mapped from '" << mapping << "'";
  }
}

TEST(CollectiveBufferPlacement, DdpSharedMemoryZeroKeepsPlainMemoryAndMpi) {
  // Read when a group is made: a group split off now sees it.
  setenv("DDP_SHARED_MEMORY", "0", 1);
  std::shared_ptr<ProcessGroup> group = world().split(0, world().rank());
  unsetenv("DDP_SHARED_MEMORY");
  Tensor buffer = group->collective_buffer({1024}, DType::float32);
  EXPECT_EQ(mapping_of(buffer.data_ptr()).find("/dev/shm"), std::string::npos);
  fill<float>(buffer, group->rank());
  group->all_reduce(buffer);
  for (std::int64_t i = 0; i < 1024; ++i) {
    ASSERT_EQ(buffer.data<float>()[i],
              static_cast<float>(expected<float>(ReduceOp::sum, group->size(), i)));
  }
}

TEST(CollectiveBufferLifetime, OutlivesTheTensorsItWasViewedThrough) {
  const int n = world().size();
  Tensor view;
  {
    Tensor buffer = world().collective_buffer({32}, DType::float32);
    view = buffer.view(8, {8});
  }
  for (std::int64_t i = 0; i < 8; ++i) view.data<float>()[i] = 1.0f;
  world().all_reduce(view);
  for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(view.data<float>()[i], static_cast<float>(n));
}

}  // namespace
}  // namespace ddp
