// nn modules, losses and optimizers on cuda:0 against the same run on the CPU: a few training
// steps of an MLP give the same parameters to within fp32 rounding of reordered sums.
#include <memory>
#include <vector>

#include "compare.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/step_totals.hpp"
#include "ddp/models/mlp.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/to_device.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/clip.hpp"
#include "ddp/optim/sgd.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_error_naming_both_devices;
using gpu_test::kGpu;

// Parameters after a few steps drift apart only by the rounding of each step's sums, which the
// next steps carry on: rel 1e-4 of each value plus abs 1e-5.
constexpr double kRel = 1e-4;
constexpr double kAbs = 1e-5;

struct TrainedRun {
  std::unique_ptr<nn::Sequential> model;
  std::vector<float> losses;
};

models::MlpOptions mlp_options() {
  models::MlpOptions options;
  options.widths = {20, 64, 48, 5};
  options.activation = kernels::Activation::gelu;
  options.dropout = 0.1f;  // the device draws the CPU's masks
  options.seed = 7;
  options.dropout_seed = 8;
  return options;
}

// Three steps of the MLP on device: cross-entropy and SGD with momentum, or MSE, clipping and
// AdamW, from the same data every time.
TrainedRun train(const Device& device, bool cross_entropy) {
  TrainedRun run{models::make_mlp(mlp_options()), {}};
  run.model->to(device);
  std::unique_ptr<optim::Optimizer> optimizer;
  if (cross_entropy) {
    optimizer = std::make_unique<optim::Sgd>(run.model->parameters(),
                                             optim::SgdOptions{.lr = 0.1, .momentum = 0.9});
  } else {
    optimizer =
        std::make_unique<optim::Adamw>(run.model->parameters(), optim::AdamwOptions{.lr = 1e-2});
  }
  nn::CrossEntropyLoss ce;
  nn::MSELoss mse;
  for (int step = 0; step < 3; ++step) {
    const auto seed = static_cast<std::uint64_t>(step);
    const Tensor x = gpu_test::random_tensor({37, 20}, 100 + seed).to(device);
    optimizer->zero_grad();
    const Tensor out = run.model->forward(x);
    if (cross_entropy) {
      Generator generator(200 + seed);
      std::vector<std::int64_t> labels(37);
      for (auto& label : labels) label = static_cast<std::int64_t>(generator.uniform_int(5));
      run.losses.push_back(ce.forward(out, Tensor::from_vector(labels, {37}).to(device)));
      run.model->backward(ce.backward());
    } else {
      const Tensor target = gpu_test::random_tensor({37, 5}, 300 + seed).to(device);
      run.losses.push_back(mse.forward(out, target));
      run.model->backward(mse.backward());
      optim::clip_grad_norm(run.model->parameters(), 0.05);
    }
    optimizer->step();
  }
  return run;
}

class CudaTraining : public GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CudaTraining, MlpStepsOnTheGpuEqualTheCpu) {
  const TrainedRun cpu = train(Device::cpu(), GetParam());
  const TrainedRun gpu = train(kGpu, GetParam());
  for (std::size_t i = 0; i < cpu.losses.size(); ++i) {
    EXPECT_NEAR(gpu.losses[i], cpu.losses[i], kRel * std::abs(cpu.losses[i]) + kAbs) << i;
  }
  const auto cpu_params = cpu.model->parameters();
  const auto gpu_params = gpu.model->parameters();
  ASSERT_EQ(cpu_params.size(), gpu_params.size());
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    SCOPED_TRACE(cpu_params[i]->name);
    EXPECT_EQ(gpu_params[i]->value.device(), kGpu);
    gpu_test::expect_close(gpu_params[i]->value, cpu_params[i]->value, kRel, kAbs);
    gpu_test::expect_close(gpu_params[i]->grad, cpu_params[i]->grad, kRel, kAbs);
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, CudaTraining, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "CrossEntropySgd" : "MseClipAdamw";
                         });

// ddp-train's GPU step outside a logging step: batches copied from pinned memory, dropout, the
// loss into the step totals, backward, the verdict on the gradients and the optimizer's step,
// skipped on the device when they are not finite. It makes the host wait for the GPU not once;
// the totals, read at the end, hold the CPU's losses, and a NaN step left the parameters alone.
TEST_F(GpuTest, ATrainingStepMakesNoHostWaitAndSkipsNonFiniteStepsOnTheDevice) {
  auto model = models::make_mlp(mlp_options());
  model->to(kGpu);
  std::vector<nn::Parameter*> params = model->parameters();
  optim::Sgd sgd(params, optim::SgdOptions{.lr = 0.1, .momentum = 0.9});
  Tensor flag = Tensor::zeros({1}, DType::float32, kGpu);
  sgd.set_skip_flag(flag);
  Tensor totals = kernels::make_step_totals(kGpu);
  nn::CrossEntropyLoss ce;
  auto cpu_model = models::make_mlp(mlp_options());
  nn::CrossEntropyLoss cpu_ce;
  double cpu_losses = 0;
  std::vector<std::int64_t> waits;
  constexpr int kSteps = 6;
  constexpr int kNanStep = 4;
  std::vector<float> before_nan_step;
  for (int step = 0; step < kSteps; ++step) {
    const auto seed = static_cast<std::uint64_t>(step);
    Tensor x = Tensor::empty_pinned({37, 20});
    x.copy_(gpu_test::random_tensor({37, 20}, 100 + seed));
    Tensor y = Tensor::empty_pinned({37}, DType::int64);
    Generator generator(200 + seed);
    for (std::int64_t i = 0; i < 37; ++i) {
      y.data<std::int64_t>()[i] = static_cast<std::int64_t>(generator.uniform_int(5));
    }
    // The CPU's loss for the same batch, before the GPU's step (the first step: same weights).
    if (step == 0) cpu_losses += cpu_ce.forward(cpu_model->forward(x.clone()), y.clone(), 37);
    if (step == kNanStep) before_nan_step = params[0]->value.to_vector<float>();
    const std::int64_t start = kernels::cuda_host_waits();
    const Tensor gx = x.to(kGpu);
    const Tensor gy = y.to(kGpu);
    x = Tensor();
    y = Tensor();
    sgd.zero_grad();
    ce.forward_into(model->forward(gx), gy, 37, totals);
    model->backward(ce.backward());
    if (step == kNanStep) kernels::scale_(params[0]->grad, NAN);
    flag.zero_();
    for (nn::Parameter* param : params) kernels::mark_non_finite(param->grad, flag);
    kernels::record_step_verdict(flag, step, totals);
    sgd.step();
    waits.push_back(kernels::cuda_host_waits() - start);
    if (step == kNanStep) {
      EXPECT_EQ(params[0]->value.to_vector<float>(), before_nan_step) << "the NaN step updated";
    }
    if (step == 0) {
      // The first step's loss alone, against the CPU (a logging step: it reads back).
      EXPECT_NEAR(totals.to_vector<double>()[kernels::kLossSum], cpu_losses, 1e-4);
    }
  }
  // The first step allocates and uploads (dropout's jump matrices); the rest wait not once.
  for (int step = 1; step < kSteps; ++step) EXPECT_EQ(waits[step], 0) << "step " << step;
  const std::vector<double> t = totals.to_vector<double>();
  EXPECT_EQ(t[kernels::kNonFiniteSteps], 1);
  EXPECT_EQ(t[kernels::kFirstNonFiniteStep], kNanStep);
  EXPECT_EQ(t[kernels::kNanStreak], 0) << "the step after the NaN one was finite";
  EXPECT_TRUE(std::isfinite(t[kernels::kLossSum]));
}

TEST_F(GpuTest, OptimizerStateGoesToTheHostAndBackToTheParameters) {
  auto model = models::make_mlp(mlp_options());
  model->to(kGpu);
  optim::Adamw adamw(model->parameters(), {});
  for (nn::Parameter* param : model->parameters()) {
    param->grad.copy_(gpu_test::random_tensor(param->value.shape(), 1));
    param->has_grad = true;
  }
  adamw.step();
  const std::vector<NamedTensor> state = adamw.state();
  for (const NamedTensor& entry : state) EXPECT_TRUE(entry.tensor.device().is_cpu());
  adamw.load_state(state);
  adamw.step();  // the loaded buffers are on cuda:0, else this would be a device error
  EXPECT_EQ(adamw.state().size(), state.size());
}

TEST_F(GpuTest, EmbeddingLooksUpAndAccumulatesOnTheGpu) {
  Generator cpu_generator(3);
  Generator gpu_generator(3);
  nn::Embedding cpu(30, 8, cpu_generator);
  nn::Embedding gpu(30, 8, gpu_generator);
  gpu.to(kGpu);
  const Tensor indices = Tensor::from_vector(std::vector<std::int64_t>{4, 0, 29, 4, 7, 4}, {2, 3});
  const Tensor grad = gpu_test::random_tensor({2, 3, 8}, 5);
  gpu_test::expect_close(gpu.forward(indices.to(kGpu)), cpu.forward(indices), 0.0, 0.0);
  cpu.backward(grad);
  gpu.backward(grad.to(kGpu));
  gpu_test::expect_close(gpu.weight().grad, cpu.weight().grad, 1e-6, 1e-6);
}

// The tutorial's "part of the model on CPU and part on the GPU": an embedding on the host feeds
// a Linear on the GPU through ToDevice; three SGD steps equal the same model all on the CPU.
std::unique_ptr<nn::Sequential> split_model(const Device& head) {
  Generator generator(21);
  auto model = std::make_unique<nn::Sequential>();
  model->emplace<nn::Embedding>(50, 12, generator);
  model->emplace<nn::ToDevice>(head);
  model->emplace<nn::Linear>(12, 4, generator);
  model->emplace<nn::ReLU>();
  model->emplace<nn::Linear>(4, 3, generator);
  model->set_input_grad_needed(false);
  for (std::size_t i = 2; i < model->size(); ++i) (*model)[i].to(head);
  return model;
}

TEST_F(GpuTest, PartOfTheModelOnTheCpuAndPartOnTheGpuTrainsAsOnTheCpu) {
  auto cpu = split_model(Device::cpu());
  auto split = split_model(kGpu);
  optim::Sgd cpu_sgd(cpu->parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::Sgd split_sgd(split->parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::MSELoss cpu_loss;
  nn::MSELoss split_loss;
  for (int step = 0; step < 3; ++step) {
    const auto seed = static_cast<std::uint64_t>(step);
    Generator draw(400 + seed);
    std::vector<std::int64_t> ids(16);
    for (auto& id : ids) id = static_cast<std::int64_t>(draw.uniform_int(50));
    const Tensor indices = Tensor::from_vector(ids, {16});
    const Tensor target = gpu_test::random_tensor({16, 3}, 500 + seed);
    for (auto* run : {cpu.get(), split.get()}) run->zero_grad();
    cpu_loss.forward(cpu->forward(indices), target);
    cpu->backward(cpu_loss.backward());
    const Tensor out = split->forward(indices);
    EXPECT_EQ(out.device(), kGpu);
    split_loss.forward(out, target.to(kGpu));
    split->backward(split_loss.backward());
    cpu_sgd.step();
    split_sgd.step();
  }
  const auto cpu_params = cpu->parameters();
  const auto split_params = split->parameters();
  EXPECT_TRUE(split_params.front()->value.device().is_cpu());  // the embedding stayed on the host
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    SCOPED_TRACE(cpu_params[i]->name);
    gpu_test::expect_close(split_params[i]->value, cpu_params[i]->value, kRel, kAbs);
  }
}

TEST_F(GpuTest, ALayerGivenAnInputOnAnotherDeviceNamesBoth) {
  auto model = models::make_mlp(mlp_options());
  model->to(kGpu);
  expect_error_naming_both_devices([&] { model->forward(Tensor::zeros({2, 20})); });
}

}  // namespace
}  // namespace ddp
