// The batch-norm kernels on a GPU against the CPU, through BatchNorm1d/2d on both devices:
// training (batch statistics, running updates, backward through the statistics), eval and an
// empty batch. Sums are in double on both, in different orders: a few float ulps apart.
#include <cstdint>
#include <memory>
#include <vector>

#include "compare.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_close;
using gpu_test::kGpu;
using gpu_test::random_tensor;

constexpr double kRel = 1e-5;
constexpr double kAbs = 1e-5;

// Both layers with the same random affine parameters and running statistics.
template <typename Layer>
std::pair<std::unique_ptr<Layer>, std::unique_ptr<Layer>> twin_layers(std::int64_t channels) {
  auto cpu = std::make_unique<Layer>(channels);
  auto gpu = std::make_unique<Layer>(channels);
  std::vector<NamedTensor> cpu_state = cpu->state_dict();
  std::vector<NamedTensor> gpu_state = gpu->state_dict();
  for (std::size_t i = 0; i < 4; ++i) {
    Tensor t = random_tensor({channels}, 10 + i, 0.5f, 1.5f);
    cpu_state[i].tensor.copy_(t);
    gpu_state[i].tensor.copy_(t);
  }
  gpu->to(kGpu);
  return {std::move(cpu), std::move(gpu)};
}

// Two training steps and one eval step on both devices: y, dx, grads and buffers agree.
void expect_same_on_both(nn::BatchNorm& cpu, nn::BatchNorm& gpu, const Shape& shape) {
  for (int step = 0; step < 3; ++step) {
    cpu.train(step < 2);
    gpu.train(step < 2);
    const Tensor x = random_tensor(shape, 100 + step, -2.0f, 4.0f);
    const Tensor dy = random_tensor(shape, 200 + step);
    expect_close(gpu.forward(x.to(kGpu)), cpu.forward(x), kRel, kAbs);
    cpu.zero_grad();
    gpu.zero_grad();
    expect_close(gpu.backward(dy.to(kGpu)), cpu.backward(dy), kRel, kAbs);
    expect_close(gpu.weight().grad, cpu.weight().grad, kRel, kAbs);
    expect_close(gpu.bias().grad, cpu.bias().grad, kRel, kAbs);
    expect_close(gpu.buffers()[0]->value, cpu.buffers()[0]->value, kRel, kAbs);
    expect_close(gpu.buffers()[1]->value, cpu.buffers()[1]->value, kRel, kAbs);
    EXPECT_EQ(gpu.buffers()[2]->value.to_vector<std::int64_t>(),
              cpu.buffers()[2]->value.to_vector<std::int64_t>());
  }
}

using CudaBatchNorm = GpuTest;

TEST_F(CudaBatchNorm, BatchNorm2dMatchesTheCpu) {
  for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{2, 64, 9, 9}, Shape{0, 3, 2, 2}}) {
    auto [cpu, gpu] = twin_layers<nn::BatchNorm2d>(shape[1]);
    expect_same_on_both(*cpu, *gpu, shape);
  }
}

TEST_F(CudaBatchNorm, BatchNorm1dMatchesTheCpu) {
  for (const Shape& shape : {Shape{300, 17}, Shape{5, 4, 33}}) {
    auto [cpu, gpu] = twin_layers<nn::BatchNorm1d>(shape[1]);
    expect_same_on_both(*cpu, *gpu, shape);
  }
}

TEST_F(CudaBatchNorm, OneValuePerChannelIsAnErrorOnTheGpuToo) {
  nn::BatchNorm1d layer(3);
  layer.to(kGpu);
  EXPECT_THROW(layer.forward(Tensor::zeros({1, 3}, DType::float32, kGpu)), Error);
}

}  // namespace
}  // namespace ddp
