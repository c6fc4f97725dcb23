// make_process_group at every world size on the CPU: mpi and auto give the world group; nccl for
// CPU tensors is the same InvalidArgument on every rank (they agree before any builds a group).
#include <gtest/gtest.h>

#include "ddp/comm/backend.hpp"
#include "mpi_test_env.hpp"

namespace ddp {
namespace {

TEST(MakeProcessGroup, MpiAndAutoOnTheCpuAreTheWorld) {
  Runtime& runtime = *testing_env::runtime;
  EXPECT_EQ(make_process_group(runtime, Backend::mpi, Device::cpu()), runtime.world());
  EXPECT_EQ(make_process_group(runtime, Backend::automatic, Device::cpu()), runtime.world());
}

TEST(MakeProcessGroup, NcclForCpuTensorsFailsOnEveryRank) {
  Runtime& runtime = *testing_env::runtime;
  try {
    make_process_group(runtime, Backend::nccl, Device::cpu());
    FAIL() << "nccl for CPU tensors made a group";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("backend 'nccl': "), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("use the mpi"), std::string::npos) << error.what();
  }
  // The world still works: no rank is left inside the agreement.
  Tensor one = Tensor::from_vector(std::vector<std::int32_t>{1}, {1});
  runtime.world()->all_reduce(one);
  EXPECT_EQ(one.data<std::int32_t>()[0], runtime.world_size());
}

}  // namespace
}  // namespace ddp
