// DDP_DEBUG=1: ranks that issue different collectives get an error naming them, not a hang.
#include <gtest/gtest.h>

#include <cstdlib>

#include "mpi_test_env.hpp"

namespace ddp {
namespace {

using testing_env::world;

// A group made while DDP_DEBUG=1 checks every collective it runs.
std::shared_ptr<ProcessGroup> debug_group() {
  ::setenv("DDP_DEBUG", "1", 1);
  auto group = world().split(0, world().rank());
  ::unsetenv("DDP_DEBUG");
  return group;
}

TEST(DebugMode, MatchingCollectivesPass) {
  auto group = debug_group();
  Tensor t = Tensor::from_vector<float>({1, 2}, {2});
  group->all_reduce(t);
  EXPECT_EQ(t.data<float>()[1], 2.0f * world().size());
}

TEST(DebugMode, MismatchNamesTheRanksThatDisagree) {
  if (world().size() < 2) GTEST_SKIP() << "a mismatch needs two ranks";
  auto group = debug_group();
  // Rank 1 sends one element more than everyone else.
  Tensor t = Tensor::zeros({world().rank() == 1 ? 5 : 4});
  try {
    group->all_reduce(t);
    FAIL() << "the mismatch went unnoticed";
  } catch (const CommError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("rank 1 issued all_reduce #0 (float32, 5 elements"), std::string::npos)
        << message;
    EXPECT_NE(message.find("4 elements"), std::string::npos) << message;
  }
  // A different collective altogether is caught the same way, and the group goes on afterwards.
  Tensor u = Tensor::zeros({3});
  try {
    if (world().rank() == 0) {
      group->broadcast(u, 0);
    } else {
      group->all_reduce(u);
    }
    FAIL() << "the mismatch went unnoticed";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 issued broadcast #1"), std::string::npos)
        << e.what();
  }
  group->all_reduce(u);
}

}  // namespace
}  // namespace ddp
