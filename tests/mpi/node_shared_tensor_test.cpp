// ProcessGroup::node_shared_tensor: one tensor that every rank of a node maps at the same memory,
// so that what one rank writes before a barrier every rank reads after it; undefined where the
// ranks share no memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::world;

constexpr std::int64_t kPerRank = 1000;

TEST(NodeSharedTensor, WhatEachRankWritesEveryRankReadsAfterABarrier) {
  const int n = world().size(), r = world().rank();
  Tensor shared = world().node_shared_tensor({n * kPerRank}, DType::int32);
  ASSERT_TRUE(shared.defined()) << "every test here runs its ranks on one node";
  std::int32_t* data = shared.data<std::int32_t>();
  // Mismatches counted, not asserted: every rank goes on through the same barriers.
  std::int64_t nonzero = 0, wrong = 0;
  for (std::int64_t i = 0; i < n * kPerRank; ++i) nonzero += data[i] != 0;
  world().barrier();
  for (std::int64_t i = r * kPerRank; i < (r + 1) * kPerRank; ++i) {
    data[i] = static_cast<std::int32_t>(i + 1);
  }
  world().barrier();
  for (std::int64_t i = 0; i < n * kPerRank; ++i) wrong += data[i] != i + 1;
  world().barrier();  // no rank leaves (and unmaps) while a peer still reads
  EXPECT_EQ(nonzero, 0) << "a new tensor reads as zeros";
  EXPECT_EQ(wrong, 0) << "elements other than their writer's value on rank " << r;
}

TEST(NodeSharedTensor, TwoTensorsAreApart) {
  Tensor first = world().node_shared_tensor({16}, DType::float32);
  Tensor second = world().node_shared_tensor({16}, DType::float32);
  if (world().rank() == 0) first.data<float>()[3] = 1.0f;
  world().barrier();
  const float in_first = first.data<float>()[3], in_second = second.data<float>()[3];
  world().barrier();
  EXPECT_EQ(in_first, 1.0f);
  EXPECT_EQ(in_second, 0.0f);
}

TEST(NodeSharedTensor, UndefinedWithoutSharedMemoryPlainAlone) {
  // Read when a group is made: a group split off now sees it.
  setenv("DDP_SHARED_MEMORY", "0", 1);
  std::shared_ptr<ProcessGroup> group = world().split(0, world().rank());
  unsetenv("DDP_SHARED_MEMORY");
  Tensor tensor = group->node_shared_tensor({8}, DType::float64);
  if (group->size() == 1) {
    ASSERT_TRUE(tensor.defined());
    EXPECT_EQ(tensor.data<double>()[7], 0.0);
  } else {
    EXPECT_FALSE(tensor.defined());
  }
}

}  // namespace
}  // namespace ddp
