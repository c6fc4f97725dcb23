// The CUDA pooling kernels against the CPU path on the same inputs: the same bits, forward (y and
// max pooling's argmax) and backward, since both devices run the same float operations in the same
// order (src/kernels/pool_plan.hpp); and the pooling layers on a GPU tensor.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "compare.hpp"
#include "ddp/kernels/pooling.hpp"
#include "ddp/nn/pooling.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_same_bits;
using gpu_test::kGpu;
using gpu_test::random_tensor;

struct FixedCase {
  Shape input;
  std::int64_t kernel;
  std::int64_t stride;
};

// Side by side, overlapping, with gaps, odd and unequal sizes, an empty batch, a CNN-sized one.
const std::vector<FixedCase> kFixedCases = {
    {{2, 3, 8, 6}, 2, 2},   {{2, 2, 7, 9}, 3, 2}, {{1, 2, 5, 6}, 3, 1},    {{2, 2, 8, 7}, 2, 3},
    {{1, 3, 10, 11}, 3, 3}, {{0, 3, 6, 6}, 2, 2}, {{8, 16, 32, 32}, 2, 2}, {{4, 8, 15, 17}, 3, 1},
};

// x with integer values in 0..2 (ties in most windows) and, at every 7th element, NaNs.
Tensor ties_and_nans(const Shape& shape) {
  Tensor x = random_tensor(shape, 3, 0.0f, 3.0f);
  float* data = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    data[i] = i % 7 == 3 ? std::numeric_limits<float>::quiet_NaN() : std::floor(data[i]);
  }
  return x;
}

using CudaPooling = GpuTest;

TEST_F(CudaPooling, MaxPoolIsTheCpusBits) {
  for (const FixedCase& c : kFixedCases) {
    SCOPED_TRACE(to_string(c.input) + " kernel " + std::to_string(c.kernel) + " stride " +
                 std::to_string(c.stride));
    const Shape out = kernels::pool2d_output_shape(c.input, c.kernel, c.stride, "test");
    for (const Tensor& x : {random_tensor(c.input, 1), ties_and_nans(c.input)}) {
      const Tensor dy = random_tensor(out, 2);
      Tensor y = Tensor::empty(out);
      Tensor argmax = Tensor::empty(out, DType::int32);
      Tensor dx = Tensor::empty(c.input);
      kernels::max_pool2d(x, c.kernel, c.stride, y, argmax);
      kernels::max_pool2d_backward(dy, argmax, c.kernel, c.stride, dx);
      Tensor gpu_y = Tensor::empty(out, DType::float32, kGpu);
      Tensor gpu_argmax = Tensor::empty(out, DType::int32, kGpu);
      Tensor gpu_dx = Tensor::empty(c.input, DType::float32, kGpu);
      kernels::max_pool2d(x.to(kGpu), c.kernel, c.stride, gpu_y, gpu_argmax);
      kernels::max_pool2d_backward(dy.to(kGpu), gpu_argmax, c.kernel, c.stride, gpu_dx);
      expect_same_bits(gpu_y, y);
      expect_same_bits(gpu_argmax, argmax);
      expect_same_bits(gpu_dx, dx);
    }
  }
}

TEST_F(CudaPooling, AvgPoolIsTheCpusBits) {
  for (const FixedCase& c : kFixedCases) {
    SCOPED_TRACE(to_string(c.input) + " kernel " + std::to_string(c.kernel) + " stride " +
                 std::to_string(c.stride));
    const Shape out = kernels::pool2d_output_shape(c.input, c.kernel, c.stride, "test");
    const Tensor x = random_tensor(c.input, 4);
    const Tensor dy = random_tensor(out, 5);
    Tensor y = Tensor::empty(out);
    Tensor dx = Tensor::empty(c.input);
    kernels::avg_pool2d(x, c.kernel, c.stride, y);
    kernels::avg_pool2d_backward(dy, c.kernel, c.stride, dx);
    Tensor gpu_y = Tensor::empty(out, DType::float32, kGpu);
    Tensor gpu_dx = Tensor::empty(c.input, DType::float32, kGpu);
    kernels::avg_pool2d(x.to(kGpu), c.kernel, c.stride, gpu_y);
    kernels::avg_pool2d_backward(dy.to(kGpu), c.kernel, c.stride, gpu_dx);
    expect_same_bits(gpu_y, y);
    expect_same_bits(gpu_dx, dx);
  }
}

TEST_F(CudaPooling, AdaptiveAvgPoolIsTheCpusBits) {
  // Global (ResNet's 7 x 7 head), uneven windows, more outputs than inputs, an empty batch.
  const std::vector<std::pair<Shape, std::int64_t>> cases = {
      {{4, 64, 7, 7}, 1}, {{2, 3, 7, 10}, 3}, {{1, 2, 3, 5}, 4}, {{0, 4, 3, 3}, 1}};
  for (const auto& [input, size] : cases) {
    SCOPED_TRACE(to_string(input) + " to " + std::to_string(size));
    const Shape out{input[0], input[1], size, size};
    const Tensor x = random_tensor(input, 6);
    const Tensor dy = random_tensor(out, 7);
    Tensor y = Tensor::empty(out);
    Tensor dx = Tensor::empty(input);
    kernels::adaptive_avg_pool2d(x, y);
    kernels::adaptive_avg_pool2d_backward(dy, dx);
    Tensor gpu_y = Tensor::empty(out, DType::float32, kGpu);
    Tensor gpu_dx = Tensor::empty(input, DType::float32, kGpu);
    kernels::adaptive_avg_pool2d(x.to(kGpu), gpu_y);
    kernels::adaptive_avg_pool2d_backward(dy.to(kGpu), gpu_dx);
    expect_same_bits(gpu_y, y);
    expect_same_bits(gpu_dx, dx);
  }
}

TEST_F(CudaPooling, LayersRunOnTheDeviceOfTheirInput) {
  const Tensor x = random_tensor({3, 4, 9, 9}, 8);
  nn::MaxPool2d max_cpu(3, 2);
  nn::MaxPool2d max_gpu(3, 2);
  nn::AdaptiveAvgPool2d mean_cpu(1);
  nn::AdaptiveAvgPool2d mean_gpu(1);
  for (auto [cpu, gpu] : std::vector<std::pair<nn::Module*, nn::Module*>>{{&max_cpu, &max_gpu},
                                                                          {&mean_cpu, &mean_gpu}}) {
    const Tensor y = cpu->forward(x);
    const Tensor gpu_y = gpu->forward(x.to(kGpu));
    EXPECT_EQ(gpu_y.device(), kGpu);
    expect_same_bits(gpu_y, y);
    const Tensor dy = random_tensor(y.shape(), 9);
    const Tensor gpu_dx = gpu->backward(dy.to(kGpu));
    EXPECT_EQ(gpu_dx.device(), kGpu);
    expect_same_bits(gpu_dx, cpu->backward(dy));
  }
}

TEST_F(CudaPooling, TensorsOnTwoDevicesAreAnError) {
  Tensor y = Tensor::empty({1, 1, 2, 2}, DType::float32, kGpu);
  Tensor argmax = Tensor::empty({1, 1, 2, 2}, DType::int32, kGpu);
  gpu_test::expect_error_naming_both_devices([&] {
    kernels::max_pool2d(Tensor::zeros({1, 1, 4, 4}), 2, 2, y, argmax);
  });
}

}  // namespace
}  // namespace ddp
