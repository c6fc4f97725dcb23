#include "ddp/kernels/cuda_device.hpp"

#include <gtest/gtest.h>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/cuda_memory.hpp"

namespace ddp {
namespace {

// What a machine without a usable GPU (this one, CI) must say: every test here skips where one is.
class NoGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kernels::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is usable here";
  }
};

TEST_F(NoGpu, CountIsZeroWithAReason) {
  EXPECT_EQ(kernels::cuda_device_count(), 0);
  std::string reason = kernels::cuda_unavailable_reason();
  EXPECT_FALSE(reason.empty());
  if (!kernels::cuda_built()) {
    EXPECT_NE(reason.find("no CUDA support"), std::string::npos);
  }
}

TEST_F(NoGpu, CudaTensorIsAClearError) {
  for (Shape shape : {Shape{4, 3}, Shape{0}}) {
    try {
      Tensor::empty(shape, DType::float32, Device::cuda(0));
      FAIL() << "a CUDA tensor without a usable GPU";
    } catch (const Error& e) {
      std::string message = e.what();
      EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
      // A build with CUDA names the runtime's reason; one without says it has no CUDA support.
      EXPECT_TRUE(message.find(kernels::cuda_unavailable_reason()) != std::string::npos ||
                  message.find("no CUDA support") != std::string::npos)
          << message;
    }
  }
}

TEST_F(NoGpu, DeviceFunctionsThrowOrAnswerEmpty) {
  EXPECT_THROW(kernels::cuda_device_for_local_rank(0), Error);
  EXPECT_THROW(kernels::set_cuda_device(0), Error);
  EXPECT_THROW(kernels::cuda_synchronize(0), Error);
  EXPECT_NO_THROW(kernels::cuda_empty_cache());
}

TEST(TensorDevices, ToTheSameDeviceSharesStorage) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor same = t.to(Device::cpu());
  EXPECT_TRUE(same.shares_storage_with(t));
  EXPECT_EQ(same.to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(TensorDevices, CpuAllocatorCopiesAndZeroes) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  Tensor u = Tensor::empty({2, 2});
  u.copy_(t);
  EXPECT_EQ(u.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  u.rows(1, 2).zero_();
  EXPECT_EQ(u.to_vector<float>(), (std::vector<float>{1, 2, 0, 0}));
}

}  // namespace
}  // namespace ddp
