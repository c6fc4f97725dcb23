#include <cstdint>
#include <vector>

#include "ddp/core/random.hpp"
#include "ddp/core/tensor.hpp"
#include "ddp/kernels/optimizer_update.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

// n floats in [-1, 1) drawn from a fixed seed.
Tensor random_floats(std::int64_t n, std::uint64_t seed) {
  Generator generator(seed);
  std::vector<float> values(static_cast<std::size_t>(n));
  for (float& v : values) v = generator.uniform(-1.0f, 1.0f);
  return Tensor::from_vector(values, {n});
}

// A size past one block of the grid-stride loop and not a multiple of the block size.
constexpr std::int64_t kElements = 3 * 4096 * 256 + 17;

struct SgdCase {
  const char* name;
  kernels::SgdUpdate rule;
};

class CudaSgd : public GpuTest, public ::testing::WithParamInterface<SgdCase> {};

// Five steps on the CPU and on the GPU from the same tensors give the same bits.
TEST_P(CudaSgd, MatchesTheCpuBitForBit) {
  kernels::SgdUpdate rule = GetParam().rule;
  Tensor param = random_floats(kElements, 1);
  Tensor buffer = Tensor::zeros({kElements});
  Tensor gpu_param = param.to(Device::cuda(0));
  Tensor gpu_buffer = buffer.to(Device::cuda(0));
  for (int step = 0; step < 5; ++step) {
    Tensor grad = random_floats(kElements, 100 + static_cast<std::uint64_t>(step));
    Tensor gpu_grad = grad.to(Device::cuda(0));
    rule.first_step = step == 0;
    kernels::sgd_update(param, grad, buffer, rule);
    kernels::sgd_update(gpu_param, gpu_grad, gpu_buffer, rule);
  }
  EXPECT_EQ(gpu_param.to_vector<float>(), param.to_vector<float>());
  if (rule.momentum != 0.0) {
    EXPECT_EQ(gpu_buffer.to_vector<float>(), buffer.to_vector<float>());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, CudaSgd,
    ::testing::Values(
        SgdCase{"plain", {.lr = 0.1}}, SgdCase{"decay", {.lr = 0.05, .weight_decay = 1e-2}},
        SgdCase{"momentum", {.lr = 0.1, .momentum = 0.9, .dampening = 0.1}},
        SgdCase{"nesterov", {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true}}),
    [](const ::testing::TestParamInfo<SgdCase>& rule_case) {
      return std::string(rule_case.param.name);
    });

TEST_F(GpuTest, AdamwMatchesTheCpuBitForBit) {
  kernels::AdamwUpdate rule{.lr = 1e-3, .weight_decay = 1e-2};
  Tensor param = random_floats(kElements, 2);
  Tensor m = Tensor::zeros({kElements});
  Tensor v = Tensor::zeros({kElements});
  Tensor gpu_param = param.to(Device::cuda(0));
  Tensor gpu_m = m.to(Device::cuda(0));
  Tensor gpu_v = v.to(Device::cuda(0));
  for (std::int64_t step = 1; step <= 5; ++step) {
    Tensor grad = random_floats(kElements, 200 + static_cast<std::uint64_t>(step));
    Tensor gpu_grad = grad.to(Device::cuda(0));
    rule.step = step;
    kernels::adamw_update(param, grad, m, v, rule);
    kernels::adamw_update(gpu_param, gpu_grad, gpu_m, gpu_v, rule);
  }
  EXPECT_EQ(gpu_param.to_vector<float>(), param.to_vector<float>());
  EXPECT_EQ(gpu_m.to_vector<float>(), m.to_vector<float>());
  EXPECT_EQ(gpu_v.to_vector<float>(), v.to_vector<float>());
}

TEST_F(GpuTest, MixedDevicesAreAClearError) {
  Tensor gpu_param = Tensor::zeros({4}, DType::float32, Device::cuda(0));
  Tensor cpu_grad = Tensor::zeros({4});
  Tensor none;
  EXPECT_THROW(kernels::sgd_update(gpu_param, cpu_grad, none, {.lr = 0.1}), Error);
}

}  // namespace
}  // namespace ddp
