// The hierarchical all-reduce on nodes emulated on this host (group_by_node): 2 nodes x 2 ranks at
// np 4, 1 + 2 at np 3 (which must fall back to the flat all-reduce), 2 x 1 at np 2. Each result is
// checked against the flat MPI all-reduce of the same contributions: with exact values, bit for
// bit; with random float32 values, to float rounding (the sums run in another order).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>

#include "contribution.hpp"
#include "ddp/comm/topology.hpp"
#include "ddp/core/bfloat16.hpp"
#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::fill;
using testing_env::world;

// This rank's emulated node: ranks 0-1, 2-3 (np 4); 0 and 1-2 (np 3); one each (np 2).
int emulated_node(int rank, int size) {
  if (size == 3) return rank == 0 ? 0 : 1;
  return size == 2 ? rank : rank / 2;
}

struct Groups {
  std::shared_ptr<ProcessGroup> hierarchical;
  std::shared_ptr<ProcessGroup> flat;
};

Groups emulated_groups() {
  const int node = emulated_node(world().rank(), world().size());
  return {group_by_node(world(), node, AllReduceAlgorithm::hierarchical),
          group_by_node(world(), node, AllReduceAlgorithm::flat)};
}

// Sizes below, at and past the share boundaries, not divisible by 2, and none at all.
const std::int64_t kCounts[] = {0, 1, 3, 17, 33, 4099, 100003};

TEST(HierarchicalAllReduce, LayoutFollowsTheNodes) {
  const int n = world().size();
  Groups groups = emulated_groups();
  const NodeLayout layout = node_layout(*groups.hierarchical);
  const NodeLayout flat = node_layout(*groups.flat);
  if (n == 1) {
    EXPECT_EQ(layout.nodes, 1);
    return;
  }
  EXPECT_EQ(layout.nodes, 2) << to_string(layout);
  EXPECT_EQ(layout.min_ranks_per_node, n == 4 ? 2 : 1);
  EXPECT_EQ(layout.max_ranks_per_node, n == 2 ? 1 : 2);
  // Only 2 x 2 has a share per local rank that is the same on every node.
  EXPECT_EQ(layout.across_nodes,
            n == 4 ? AllReduceAlgorithm::hierarchical : AllReduceAlgorithm::flat)
      << to_string(layout);
  EXPECT_EQ(layout.shared_memory, n == 4) << to_string(layout);
  EXPECT_EQ(flat.across_nodes, AllReduceAlgorithm::flat);
  EXPECT_FALSE(flat.shared_memory) << "flat across nodes maps no buffers";
  EXPECT_FALSE(groups.hierarchical->node_shared_tensor({8}, DType::float32).defined())
      << "no memory is every rank's across nodes";
}

template <typename T>
class HierarchicalAllReduce : public ::testing::Test {};
using DTypes = ::testing::Types<float, double, std::int32_t, std::int64_t>;
TYPED_TEST_SUITE(HierarchicalAllReduce, DTypes);

TYPED_TEST(HierarchicalAllReduce, EqualsTheFlatAllReduceBitForBit) {
  const int r = world().rank();
  const DType dtype = dtype_of<TypeParam>();
  Groups groups = emulated_groups();
  std::vector<ReduceOp> ops = {ReduceOp::sum, ReduceOp::min, ReduceOp::max};
  if (is_floating(dtype)) ops.push_back(ReduceOp::avg);
  for (std::int64_t count : kCounts) {
    Tensor ours = groups.hierarchical->collective_buffer({count}, dtype);
    Tensor theirs = Tensor::zeros({count}, dtype);
    for (ReduceOp op : ops) {
      fill<TypeParam>(ours, r);
      fill<TypeParam>(theirs, r);
      groups.hierarchical->all_reduce(ours, op);
      groups.flat->all_reduce(theirs, op);
      for (std::int64_t i = 0; i < count; ++i) {
        ASSERT_EQ(ours.data<TypeParam>()[i], theirs.data<TypeParam>()[i])
            << to_string(op) << " count " << count << " element " << i;
      }
    }
  }
}

std::uint16_t* bf16(const Tensor& tensor) {
  return static_cast<std::uint16_t*>(tensor.data_ptr());
}

TEST(HierarchicalAllReduce, Bfloat16SumEqualsTheFlatOne) {
  const int r = world().rank();
  Groups groups = emulated_groups();
  for (std::int64_t count : kCounts) {
    Tensor ours = groups.hierarchical->collective_buffer({count}, DType::bfloat16);
    Tensor theirs = Tensor::zeros({count}, DType::bfloat16);
    for (std::int64_t i = 0; i < count; ++i) {
      const std::uint16_t value =
          float_to_bfloat16(static_cast<float>(testing_env::contribution(r, i)));
      bf16(ours)[i] = value;
      bf16(theirs)[i] = value;
    }
    groups.hierarchical->all_reduce(ours, ReduceOp::sum);
    groups.flat->all_reduce(theirs, ReduceOp::sum);
    for (std::int64_t i = 0; i < count; ++i) {
      ASSERT_EQ(bf16(ours)[i], bf16(theirs)[i]) << "count " << count << " element " << i;
    }
  }
}

TEST(HierarchicalAllReduce, RandomFloatsEqualTheFlatOneToRounding) {
  const int r = world().rank(), n = world().size();
  Groups groups = emulated_groups();
  const std::int64_t count = 100003;
  Tensor ours = groups.hierarchical->collective_buffer({count}, DType::float32);
  Tensor theirs = Tensor::zeros({count});
  std::mt19937 generator(1234 + r);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::avg, ReduceOp::min, ReduceOp::max}) {
    for (std::int64_t i = 0; i < count; ++i) {
      ours.data<float>()[i] = theirs.data<float>()[i] = value(generator);
    }
    groups.hierarchical->all_reduce(ours, op);
    groups.flat->all_reduce(theirs, op);
    // n additions of values below 1 in magnitude, in two orders.
    const float tolerance = op == ReduceOp::min || op == ReduceOp::max ? 0.0f : 2e-7f * n;
    for (std::int64_t i = 0; i < count; ++i) {
      ASSERT_LE(std::fabs(ours.data<float>()[i] - theirs.data<float>()[i]), tolerance)
          << to_string(op) << " element " << i;
    }
  }
}

TEST(HierarchicalAllReduce, BadAlgorithmInTheEnvironmentIsOneClearError) {
  setenv("DDP_ALLREDUCE", "ring", 1);
  try {
    all_reduce_algorithm_from_env();
    ADD_FAILURE() << "DDP_ALLREDUCE=ring was taken";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("DDP_ALLREDUCE=ring"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("flat, hierarchical"), std::string::npos);
  }
  setenv("DDP_ALLREDUCE", "flat", 1);
  EXPECT_EQ(all_reduce_algorithm_from_env(), AllReduceAlgorithm::flat);
  unsetenv("DDP_ALLREDUCE");
  EXPECT_EQ(all_reduce_algorithm_from_env(), AllReduceAlgorithm::automatic);
}

}  // namespace
}  // namespace ddp
