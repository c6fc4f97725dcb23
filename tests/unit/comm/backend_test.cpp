// The rule behind --backend auto|nccl|mpi, without MPI or a GPU: each case names its context.
#include "ddp/comm/backend.hpp"

#include <gtest/gtest.h>

#include "ddp/kernels/cuda_device.hpp"

namespace ddp {
namespace {

BackendContext gpu_host(int local_size, int cuda_devices) {
  return {.device = Device::cuda(0),
          .local_size = local_size,
          .cuda_devices = cuda_devices,
          .nccl_built = true};
}

std::string refusal(const std::string& requested, const BackendContext& context) {
  try {
    choose_backend(requested, context);
  } catch (const InvalidArgument& error) {
    return error.what();
  }
  return "";
}

TEST(ChooseBackend, AutoTakesNcclWhenEveryRankHasItsOwnGpu) {
  EXPECT_EQ(choose_backend("auto", gpu_host(1, 1)), "nccl");
  EXPECT_EQ(choose_backend("auto", gpu_host(4, 8)), "nccl");
  EXPECT_EQ(choose_backend("auto", gpu_host(8, 8)), "nccl");
}

TEST(ChooseBackend, AutoTakesMpiForSharedGpusCpuTensorsOrNoNccl) {
  EXPECT_EQ(choose_backend("auto", gpu_host(2, 1)), "mpi");
  BackendContext cpu = gpu_host(1, 1);
  cpu.device = Device::cpu();
  EXPECT_EQ(choose_backend("auto", cpu), "mpi");
  BackendContext unbuilt = gpu_host(1, 1);
  unbuilt.nccl_built = false;
  EXPECT_EQ(choose_backend("auto", unbuilt), "mpi");
}

TEST(ChooseBackend, MpiIsAlwaysMpi) {
  EXPECT_EQ(choose_backend("mpi", gpu_host(1, 1)), "mpi");
  EXPECT_EQ(choose_backend("mpi", gpu_host(3, 1)), "mpi");
}

TEST(ChooseBackend, NcclWhereItCannotRunSaysWhyAndWhatToDo) {
  EXPECT_EQ(choose_backend("nccl", gpu_host(2, 2)), "nccl");

  BackendContext unbuilt = gpu_host(1, 1);
  unbuilt.nccl_built = false;
  EXPECT_EQ(refusal("nccl", unbuilt),
            "--backend nccl: this build of ddp has no CUDA or NCCL support; use --backend mpi or "
            "auto");

  BackendContext cpu = gpu_host(1, 1);
  cpu.device = Device::cpu();
  EXPECT_EQ(refusal("nccl", cpu),
            "--backend nccl: NCCL all-reduces GPU tensors, and this rank's tensors are on the CPU; "
            "use --backend mpi or auto");

  EXPECT_EQ(refusal("nccl", gpu_host(4, 2)),
            "--backend nccl: the 4 ranks on this host share its 2 GPU(s), and NCCL needs a GPU of "
            "its own for each rank; use --backend mpi (it stages GPU tensors through host memory) "
            "or start at most 2 rank(s) per host");
}

TEST(ChooseBackend, UnknownNameIsAnError) {
  EXPECT_EQ(refusal("gloo", gpu_host(1, 1)), "--backend 'gloo': expected auto, nccl or mpi");
}

// This build and machine as they are: on a CPU-only machine (or a build without CUDA) nccl is
// refused for CUDA tensors, and auto is mpi.
TEST(ChooseBackend, ThisMachine) {
  BackendContext here{.device = Device::cuda(0),
                      .local_size = 1,
                      .cuda_devices = kernels::cuda_device_count(),
                      .nccl_built = kernels::cuda_built()};
  if (here.nccl_built && here.cuda_devices > 0) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_EQ(choose_backend("auto", here), "mpi");
  EXPECT_NE(refusal("nccl", here), "");
}

}  // namespace
}  // namespace ddp
