// Conv2d's contract beyond its arithmetic (tests/pytorch checks that against PyTorch): its
// initialisation, an empty batch, a first layer without an input gradient, gradients that add up
// over backward passes, a training loop that allocates nothing after its first step, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "ddp/core/allocator.hpp"
#include "ddp/nn/conv2d.hpp"
#include "expect_error.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using ddp::testing::expect_error_with;
using testing::random_tensor;

TEST(Conv2d, InitDrawsWeightThenBiasWithinOneOverSqrtFanIn) {
  Generator generator(1);
  Conv2d conv(3, 8, 5, generator, {.stride = 2, .padding = 1});
  EXPECT_EQ(conv.weight().value.shape(), (Shape{8, 3, 5, 5}));
  ASSERT_NE(conv.bias(), nullptr);
  EXPECT_EQ(conv.bias()->value.shape(), (Shape{8}));
  EXPECT_EQ(conv.weight().name, "weight");
  EXPECT_EQ(conv.bias()->name, "bias");
  // The same stream drawn by hand: 600 weights, then 8 biases, uniform in +-1/sqrt(3*5*5).
  Generator same(1);
  const float bound = 1.0f / std::sqrt(75.0f);
  std::vector<float> expected;
  for (int i = 0; i < 608; ++i) expected.push_back(same.uniform(-bound, bound));
  std::vector<float> drawn = conv.weight().value.to_vector<float>();
  for (float b : conv.bias()->value.to_vector<float>()) drawn.push_back(b);
  EXPECT_EQ(drawn, expected);
}

TEST(Conv2d, WithoutBiasHasOnlyAWeight) {
  Generator generator(2);
  Conv2d conv(2, 3, 1, generator, {.bias = false});
  EXPECT_EQ(conv.bias(), nullptr);
  EXPECT_EQ(conv.parameters().size(), 1u);
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  Generator generator(3);
  Conv2d conv(2, 3, 3, generator, {.stride = 2, .padding = 1});
  testing::expect_module_gradients(conv, random_tensor({2, 2, 5, 4}, generator));
}

// A rank whose slice of the global batch is empty still reports every gradient (zeros, or what
// earlier passes left when accumulating), bias before weight, as DDP's buckets expect.
TEST(Conv2d, EmptyBatchGivesZeroGradientsBiasFirst) {
  Generator generator(4);
  Conv2d conv(2, 3, 3, generator, {.padding = 1});
  std::vector<std::size_t> reported;
  conv.set_grad_ready_hook([&](std::size_t index) { reported.push_back(index); });
  conv.weight().grad.copy_(random_tensor({3, 2, 3, 3}, generator));  // stale: must be overwritten
  conv.zero_grad();
  EXPECT_EQ(conv.forward(Tensor::empty({0, 2, 6, 5})).shape(), (Shape{0, 3, 6, 5}));
  EXPECT_EQ(conv.backward(Tensor::empty({0, 3, 6, 5})).shape(), (Shape{0, 2, 6, 5}));
  EXPECT_EQ(reported, (std::vector<std::size_t>{1, 0}));
  for (Parameter* param : conv.parameters()) {
    EXPECT_TRUE(param->has_grad) << param->name;
    for (float g : param->grad.to_vector<float>()) EXPECT_EQ(g, 0.0f) << param->name;
  }
}

TEST(Conv2d, FirstLayerComputesNoInputGradient) {
  Generator generator(5);
  Conv2d conv(1, 4, 5, generator, {.padding = 2});
  conv.set_input_grad_needed(false);
  conv.zero_grad();
  conv.forward(random_tensor({3, 1, 8, 8}, generator));
  EXPECT_FALSE(conv.backward(random_tensor({3, 4, 8, 8}, generator)).defined());
  EXPECT_TRUE(conv.weight().has_grad);
  EXPECT_TRUE(conv.bias()->has_grad);
}

// Two passes without zero_grad add up to the sum of each pass's gradients alone, also when the
// batches chunk differently (4x3 maps: 21 images per GEMM on the CPU, so 30 is two chunks).
TEST(Conv2d, GradientsAddUpOverBackwardPasses) {
  Generator generator(6);
  Conv2d conv(2, 3, 3, generator, {.padding = 1});
  const Tensor x1 = random_tensor({30, 2, 4, 3}, generator);
  const Tensor dy1 = random_tensor({30, 3, 4, 3}, generator);
  const Tensor x2 = random_tensor({5, 2, 4, 3}, generator);
  const Tensor dy2 = random_tensor({5, 3, 4, 3}, generator);
  auto grads_of = [&](const Tensor& x, const Tensor& dy) {
    conv.zero_grad();
    conv.forward(x);
    conv.backward(dy);
    return std::vector<Tensor>{conv.weight().grad.clone(), conv.bias()->grad.clone()};
  };
  const std::vector<Tensor> first = grads_of(x1, dy1);
  const std::vector<Tensor> second = grads_of(x2, dy2);
  conv.zero_grad();
  conv.forward(x1);
  conv.backward(dy1);
  conv.forward(x2);
  conv.backward(dy2);
  const std::vector<Parameter*> params = conv.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    const std::vector<float> total = params[p]->grad.to_vector<float>();
    const std::vector<float> a = first[p].to_vector<float>();
    const std::vector<float> b = second[p].to_vector<float>();
    for (std::size_t i = 0; i < total.size(); ++i) {
      EXPECT_NEAR(total[i], a[i] + b[i], 1e-5f * (1.0f + std::abs(a[i] + b[i])))
          << params[p]->name << " element " << i;
    }
  }
}

// Forwards to the host allocator and counts the allocations made while it is registered.
class CountingAllocator : public Allocator {
 public:
  CountingAllocator() : host_(cpu_allocator()) { register_allocator(Device::Kind::cpu, this); }
  ~CountingAllocator() override { register_allocator(Device::Kind::cpu, &host_); }
  void* allocate(std::size_t bytes, const Device& device) override {
    ++allocations;
    return host_.allocate(bytes, device);
  }
  void deallocate(void* pointer, std::size_t bytes, const Device& device) override {
    host_.deallocate(pointer, bytes, device);
  }
  void copy(void* dst, const Device& dst_device, const void* src, const Device& src_device,
            std::size_t bytes) override {
    host_.copy(dst, dst_device, src, src_device, bytes);
  }
  void zero(void* pointer, std::size_t bytes, const Device& device) override {
    host_.zero(pointer, bytes, device);
  }

  int allocations = 0;

 private:
  Allocator& host_;
};

TEST(Conv2d, StepsOfFixedShapesAllocateNothingAfterTheFirst) {
  CountingAllocator counter;  // outlives the module, whose memory it hands out
  Generator generator(7);
  for (std::int64_t height : {28, 4}) {  // one image per GEMM, then chunks of several
    SCOPED_TRACE(height);
    Conv2d conv(2, 3, 3, generator, {.padding = 1});
    const Tensor x = random_tensor({25, 2, height, 3}, generator);
    const Tensor dy = random_tensor({25, 3, height, 3}, generator);
    auto step = [&] {
      conv.zero_grad();
      conv.forward(x);
      conv.backward(dy);
    };
    const int before = counter.allocations;
    step();
    const int after_first = counter.allocations;
    EXPECT_GT(after_first, before);  // the counter sees the layer's memory
    for (int i = 0; i < 3; ++i) step();
    EXPECT_EQ(counter.allocations, after_first);
  }
}

TEST(Conv2d, ErrorsSayWhatIsWrongWithTheInput) {
  Generator generator(8);
  Conv2d conv(3, 4, 5, generator, {.padding = 1});
  const std::string name = "Conv2d(3, 4, kernel_size=5, stride=1, padding=1)";
  expect_error_with(
      [&] {
        conv.forward(Tensor::empty({3, 8, 8}));
      },
      {name, "[3, 8, 8]", "[N, 3, H, W]"});
  expect_error_with(
      [&] {
        conv.forward(Tensor::empty({2, 1, 8, 8}));
      },
      {name, "[2, 1, 8, 8]", "[N, 3, H, W]"});
  expect_error_with(
      [&] {
        conv.forward(Tensor::empty({2, 3, 8, 8}, DType::int64));
      },
      {"int64", "float32"});
  expect_error_with(
      [&] {
        conv.forward(Tensor::empty({2, 3, 2, 8}));
      },
      {name, "2x8", "padded by 1", "smaller than the kernel 5x5"});
  expect_error_with(
      [&] {
        conv.backward(Tensor::empty({2, 4, 6, 6}));
      },
      {name, "backward", "forward first"});
  conv.forward(Tensor::zeros({2, 3, 8, 8}));
  expect_error_with(
      [&] {
        conv.backward(Tensor::empty({2, 4, 5, 6}));
      },
      {name, "[2, 4, 5, 6]", "[2, 4, 6, 6]"});
  expect_error_with([&] { Conv2d(3, 0, 3, generator); },
                    {"Conv2d(3, 0, kernel_size=3", "positive"});
  expect_error_with([&] { Conv2d(3, 4, 3, generator, {.stride = 0}); }, {"stride=0", "positive"});
  expect_error_with([&] { Conv2d(3, 4, 3, generator, {.padding = -1}); },
                    {"padding=-1", "padding >= 0"});
}

}  // namespace
}  // namespace ddp::nn
