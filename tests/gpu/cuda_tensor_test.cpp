#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_memory.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

std::vector<float> iota(std::int64_t n, float start) {
  std::vector<float> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), start);
  return values;
}

using CudaDevice = GpuTest;
using CudaAllocator = GpuTest;
using CudaCopy = GpuTest;

TEST_F(CudaDevice, RanksSpreadOverTheDevices) {
  int count = kernels::cuda_device_count();
  EXPECT_TRUE(kernels::cuda_built());
  EXPECT_TRUE(kernels::cuda_unavailable_reason().empty());
  for (int local_rank = 0; local_rank < 3 * count; ++local_rank) {
    EXPECT_EQ(kernels::cuda_device_for_local_rank(local_rank), local_rank % count);
  }
  EXPECT_NO_THROW(kernels::set_cuda_device(count - 1));
  EXPECT_THROW(kernels::set_cuda_device(count), Error);
  EXPECT_NE(kernels::cuda_device_description(0).find("sm_"), std::string::npos);
}

TEST_F(CudaAllocator, FreedBlocksAreReusedWithoutCudaMalloc) {
  const Device gpu = Device::cuda(0);
  { Tensor warm = Tensor::empty({1000}, DType::float32, gpu); }
  kernels::CudaMemoryStats before = kernels::cuda_memory_stats(0);
  for (int step = 0; step < 10; ++step) {
    // 1000 and 900 floats fall in one size class (4 KiB), so both come from the cached block.
    Tensor a = Tensor::empty({step % 2 == 0 ? 1000 : 900}, DType::float32, gpu);
  }
  kernels::CudaMemoryStats after = kernels::cuda_memory_stats(0);
  EXPECT_EQ(after.device_allocations, before.device_allocations);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 10);
  EXPECT_EQ(after.in_use_bytes, before.in_use_bytes);
}

TEST_F(CudaAllocator, InUseAndCachedBytesFollowTensors) {
  kernels::cuda_empty_cache();
  kernels::CudaMemoryStats start = kernels::cuda_memory_stats(0);
  EXPECT_EQ(start.cached_bytes, 0u);
  {
    Tensor t = Tensor::empty({3, 1 << 20}, DType::float32, Device::cuda(0));  // 12 MiB
    EXPECT_EQ(kernels::cuda_memory_stats(0).in_use_bytes, start.in_use_bytes + (12u << 20));
  }
  EXPECT_EQ(kernels::cuda_memory_stats(0).in_use_bytes, start.in_use_bytes);
  EXPECT_EQ(kernels::cuda_memory_stats(0).cached_bytes, 12u << 20);
  kernels::cuda_empty_cache();
  EXPECT_EQ(kernels::cuda_memory_stats(0).cached_bytes, 0u);
}

TEST_F(CudaAllocator, TooLargeIsAClearError) {
  try {
    Tensor::empty({std::int64_t{1} << 48}, DType::float32, Device::cuda(0));  // 1 PiB
    FAIL() << "a 1 PiB tensor was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of GPU memory on cuda:0"), std::string::npos)
        << e.what();
  }
  // The failure left no CUDA error behind for the next call.
  EXPECT_NO_THROW(Tensor::zeros({16}, DType::float32, Device::cuda(0)));
}

TEST_F(CudaAllocator, MissingDeviceIsAClearError) {
  int count = kernels::cuda_device_count();
  EXPECT_THROW(Tensor::empty({4}, DType::float32, Device::cuda(count)), Error);
}

// Sizes around the 4 MiB staging buffers: empty, one element, exactly one and two buffers, and
// a few chunks with a ragged end.
class CudaCopySizes : public GpuTest, public ::testing::WithParamInterface<std::int64_t> {};

TEST_P(CudaCopySizes, HostToDeviceAndBackIsExact) {
  const std::int64_t n = GetParam();
  Tensor host = Tensor::from_vector(iota(n, 0.5f), {n});
  Tensor gpu = host.to(Device::cuda(0));
  EXPECT_EQ(gpu.device(), Device::cuda(0));
  EXPECT_FALSE(gpu.shares_storage_with(host));
  Tensor back = gpu.to(Device::cpu());
  EXPECT_EQ(back.to_vector<float>(), host.to_vector<float>());
}

TEST_P(CudaCopySizes, DeviceToDeviceAndZero) {
  const std::int64_t n = GetParam();
  Tensor gpu = Tensor::from_vector(iota(n, -3.0f), {n}).to(Device::cuda(0));
  Tensor copy = gpu.clone();
  EXPECT_EQ(copy.device(), Device::cuda(0));
  gpu.zero_();
  EXPECT_EQ(copy.to_vector<float>(), iota(n, -3.0f));
  EXPECT_EQ(gpu.to_vector<float>(), std::vector<float>(static_cast<std::size_t>(n), 0.0f));
}

INSTANTIATE_TEST_SUITE_P(Elements, CudaCopySizes,
                         ::testing::Values(0, 1, 1000, std::int64_t{1} << 20, std::int64_t{2} << 20,
                                           (std::int64_t{5} << 20) + 3));

TEST_F(CudaCopy, ViewsCopyOnlyTheirElements) {
  Tensor gpu = Tensor::zeros({4, 3}, DType::float32, Device::cuda(0));
  gpu.rows(1, 3).copy_(Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_EQ(gpu.to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0}));
  Tensor host = Tensor::zeros({2});
  host.copy_(gpu.view(4, {2}));
  EXPECT_EQ(host.to_vector<float>(), (std::vector<float>{2, 3}));
}

TEST_F(CudaCopy, OtherDtypesRoundTrip) {
  Tensor ids = Tensor::from_vector<std::int64_t>({-1, 0, 1LL << 40}, {3});
  EXPECT_EQ(ids.to(Device::cuda(0)).to_vector<std::int64_t>(), ids.to_vector<std::int64_t>());
}

// Copies from pinned memory run on the copy stream after copy_ returns, without a host wait: each
// pinned block, freed at once, must not be handed out and overwritten before its copy has read it.
TEST_F(CudaCopy, PinnedCopiesWaitForNothingAndReadTheirBlocksBeforeReuse) {
  constexpr int kCopies = 24;
  constexpr std::int64_t kElements = std::int64_t{1} << 20;
  std::vector<Tensor> on_gpu;
  const std::int64_t waits_before = kernels::cuda_host_waits();
  for (int i = 0; i < kCopies; ++i) {
    Tensor pinned = Tensor::empty_pinned({kElements});
    std::fill_n(pinned.data<float>(), kElements, static_cast<float>(i));
    on_gpu.push_back(pinned.to(Device::cuda(0)));
  }
  EXPECT_EQ(kernels::cuda_host_waits(), waits_before);
  for (int i = 0; i < kCopies; ++i) {
    const std::vector<float> values = on_gpu[static_cast<std::size_t>(i)].to_vector<float>();
    ASSERT_EQ(values, std::vector<float>(kElements, static_cast<float>(i))) << "copy " << i;
  }
}

TEST_F(CudaCopy, BetweenDevices) {
  int count = kernels::cuda_device_count();
  if (count < 2) GTEST_SKIP() << "needs two CUDA devices, this machine has " << count;
  Tensor host = Tensor::from_vector(iota(1000, 1.0f), {1000});
  Tensor on_last = host.to(Device::cuda(0)).to(Device::cuda(count - 1));
  EXPECT_EQ(on_last.device(), Device::cuda(count - 1));
  EXPECT_EQ(on_last.to_vector<float>(), host.to_vector<float>());
}

}  // namespace
}  // namespace ddp
