// Composed modules on cuda:0 against the CPU: a residual network with a projection shortcut and a
// Flatten, a model whose output layer is tied to its embedding and runs one layer twice, and
// buffers, which Module::to moves with the parameters.
#include <memory>

#include "compare.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/residual.hpp"
#include "ddp/nn/sequential.hpp"
#include "gpu_test.hpp"
#include "shared_weight_models.hpp"

namespace ddp {
namespace {

using gpu_test::kGpu;

std::unique_ptr<nn::Sequential> residual_network() {
  Generator generator(31);
  auto model = std::make_unique<nn::Sequential>();
  model->emplace<nn::Flatten>();
  auto branch = std::make_unique<nn::Sequential>();
  branch->emplace<nn::Linear>(12, 16, generator);
  branch->emplace<nn::Tanh>();
  model->emplace<nn::Residual>(std::move(branch),
                               std::make_unique<nn::Linear>(12, 16, generator, false));
  model->emplace<nn::Residual>(std::make_unique<nn::Linear>(16, 16, generator));
  model->emplace<nn::Linear>(16, 3, generator);
  return model;
}

TEST_F(GpuTest, ResidualNetworkWithAProjectionEqualsTheCpu) {
  auto cpu = residual_network();
  auto gpu = residual_network();
  gpu_test::expect_same_step(*cpu, *gpu, gpu_test::random_tensor({5, 3, 4}, 9), {5, 3});
}

TEST_F(GpuTest, TiedAndTwiceUsedWeightsEqualTheCpu) {
  testing_models::TiedLanguageModel cpu(9, 6, 2, true, 41), gpu(9, 6, 2, true, 41);
  const Tensor tokens = Tensor::from_vector<std::int64_t>({3, 8, 3, 0, 5, 1}, {2, 3});
  gpu_test::expect_same_step(cpu, gpu, tokens, {2, 3, 9});
}

// A buffer, as BatchNorm's running statistics: Module::to takes it to the GPU with the parameters.
class WithBuffer : public nn::Module {
 public:
  WithBuffer() { register_buffer("count", Tensor::zeros({}, DType::int64)); }

 protected:
  Tensor forward_impl(const Tensor& x) override { return x; }
  Tensor backward_impl(const Tensor& dy) override { return dy; }
};

TEST_F(GpuTest, BuffersMoveWithTheModule) {
  WithBuffer module;
  module.to(kGpu);
  EXPECT_EQ(module.buffers()[0]->value.device(), kGpu);
  EXPECT_EQ(module.buffers()[0]->value.to_vector<std::int64_t>(), std::vector<std::int64_t>{0});
}

}  // namespace
}  // namespace ddp
