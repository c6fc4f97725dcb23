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

std::string refusal(Backend requested, const BackendContext& context) {
  try {
    choose_backend(requested, context);
  } catch (const InvalidArgument& error) {
    return error.what();
  }
  return "";
}

TEST(ChooseBackend, AutoTakesNcclWhenEveryRankHasItsOwnGpu) {
  EXPECT_EQ(choose_backend(Backend::automatic, gpu_host(1, 1)), Backend::nccl);
  EXPECT_EQ(choose_backend(Backend::automatic, gpu_host(4, 8)), Backend::nccl);
  EXPECT_EQ(choose_backend(Backend::automatic, gpu_host(8, 8)), Backend::nccl);
}

TEST(ChooseBackend, AutoTakesMpiForSharedGpusCpuTensorsOrNoNccl) {
  EXPECT_EQ(choose_backend(Backend::automatic, gpu_host(2, 1)), Backend::mpi);
  BackendContext cpu = gpu_host(1, 1);
  cpu.device = Device::cpu();
  EXPECT_EQ(choose_backend(Backend::automatic, cpu), Backend::mpi);
  BackendContext unbuilt = gpu_host(1, 1);
  unbuilt.nccl_built = false;
  EXPECT_EQ(choose_backend(Backend::automatic, unbuilt), Backend::mpi);
}

TEST(ChooseBackend, MpiIsAlwaysMpi) {
  EXPECT_EQ(choose_backend(Backend::mpi, gpu_host(1, 1)), Backend::mpi);
  EXPECT_EQ(choose_backend(Backend::mpi, gpu_host(3, 1)), Backend::mpi);
}

TEST(ChooseBackend, NcclWhereItCannotRunSaysWhyAndWhatToDo) {
  EXPECT_EQ(choose_backend(Backend::nccl, gpu_host(2, 2)), Backend::nccl);

  BackendContext unbuilt = gpu_host(1, 1);
  unbuilt.nccl_built = false;
  EXPECT_EQ(refusal(Backend::nccl, unbuilt),
            "backend 'nccl': this build of ddp has no CUDA or NCCL support; use the mpi or auto "
            "backend");

  BackendContext cpu = gpu_host(1, 1);
  cpu.device = Device::cpu();
  EXPECT_EQ(refusal(Backend::nccl, cpu),
            "backend 'nccl': NCCL all-reduces GPU tensors, and this rank's tensors are on the CPU; "
            "use the mpi or auto backend");

  EXPECT_EQ(refusal(Backend::nccl, gpu_host(4, 2)),
            "backend 'nccl': the 4 ranks on this host share its 2 GPU(s), and NCCL needs a GPU of "
            "its own for each rank; use the mpi backend (it stages GPU tensors through host "
            "memory) or start at most 2 rank(s) per host");
}

// This build and machine as they are: on a CPU-only machine (or a build without CUDA) nccl is
// refused for CUDA tensors, and auto is mpi.
TEST(ChooseBackend, ThisMachine) {
  BackendContext here{.device = Device::cuda(0),
                      .local_size = 1,
                      .cuda_devices = kernels::cuda_device_count(),
                      .nccl_built = kernels::cuda_built()};
  if (here.nccl_built && here.cuda_devices > 0) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_EQ(choose_backend(Backend::automatic, here), Backend::mpi);
  EXPECT_NE(refusal(Backend::nccl, here), "");
}

}  // namespace
}  // namespace ddp
