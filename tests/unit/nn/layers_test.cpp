#include <gtest/gtest.h>

#include <cmath>

#include "ddp/nn/activation.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/nn/to_device.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using testing::expect_module_gradients;
using testing::random_tensor;

// Values at least 0.1 away from 0, so that no finite-difference step crosses ReLU's kink.
Tensor away_from_zero(Shape shape, Generator& generator) {
  Tensor t = random_tensor(std::move(shape), generator);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data<float>()[i];
    v = v < 0 ? v - 0.1f : v + 0.1f;
  }
  return t;
}

TEST(Linear, GradientsMatchFiniteDifferences) {
  Generator generator(1);
  Linear linear(5, 3, generator);
  expect_module_gradients(linear, random_tensor({4, 5}, generator));
}

TEST(Linear, AcceptsLeadingDimensionsAndNoBias) {
  Generator generator(2);
  Linear linear(4, 2, generator, false);
  EXPECT_EQ(linear.parameters().size(), 1u);
  Tensor x = random_tensor({2, 3, 4}, generator);
  EXPECT_EQ(linear.forward(x).shape(), (Shape{2, 3, 2}));
  expect_module_gradients(linear, x);
}

TEST(Linear, InitIsUniformWithinOneOverSqrtInFeatures) {
  Generator generator(3);
  Linear linear(100, 50, generator);
  const float bound = 0.1f;
  for (Parameter* param : linear.parameters()) {
    float largest = 0.0f;
    for (float v : param->value.to_vector<float>()) largest = std::max(largest, std::abs(v));
    EXPECT_LE(largest, bound) << param->name;
    EXPECT_GT(largest, 0.9f * bound) << param->name;
  }
  EXPECT_EQ(linear.weight().value.shape(), (Shape{50, 100}));
}

TEST(Linear, ForwardIsXTimesWeightTransposedPlusBias) {
  Generator generator(4);
  Linear linear(2, 2, generator);
  linear.weight().value.copy_(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}));
  linear.bias()->value.copy_(Tensor::from_vector<float>({10, 20}, {2}));
  Tensor y = linear.forward(Tensor::from_vector<float>({1, 1, 0, 1}, {2, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{13, 27, 12, 24}));
}

TEST(Linear, EmptyBatchGivesEmptyOutputAndZeroGradients) {
  Generator generator(5);
  Linear linear(3, 2, generator);
  Tensor y = linear.forward(Tensor::empty({0, 3}));
  EXPECT_EQ(y.shape(), (Shape{0, 2}));
  Tensor dx = linear.backward(Tensor::empty({0, 2}));
  EXPECT_EQ(dx.shape(), (Shape{0, 3}));
  for (Parameter* param : linear.parameters()) {
    EXPECT_TRUE(param->has_grad);
    for (float g : param->grad.to_vector<float>()) EXPECT_EQ(g, 0.0f);
  }
}

TEST(Linear, BackwardAccumulatesIntoTheGradTensorItIsGiven) {
  Generator generator(6);
  Linear linear(3, 2, generator);
  Tensor x = random_tensor({4, 3}, generator);
  Tensor dy = random_tensor({4, 2}, generator);
  linear.forward(x);
  linear.backward(dy);
  const std::vector<float> once = linear.weight().grad.to_vector<float>();
  // DDP points grads into a bucket: backward must write there, not reallocate.
  Tensor bucket = Tensor::zeros({100});
  linear.weight().grad = bucket.view(10, {2, 3});
  linear.forward(x);
  linear.backward(dy);  // has_grad is still true: adds to whatever the view holds (zeros)
  EXPECT_TRUE(linear.weight().grad.shares_storage_with(bucket));
  for (std::size_t i = 0; i < once.size(); ++i) {
    EXPECT_FLOAT_EQ(bucket.data<float>()[10 + i], once[i]);
  }
  EXPECT_THROW(linear.backward(dy), Error);  // each forward call is differentiated once
  linear.forward(x);
  linear.backward(dy);
  for (std::size_t i = 0; i < once.size(); ++i) {
    EXPECT_FLOAT_EQ(bucket.data<float>()[10 + i], 2 * once[i]);
  }
  EXPECT_EQ(bucket.data<float>()[9], 0.0f);
  EXPECT_EQ(bucket.data<float>()[16], 0.0f);
  linear.zero_grad();
  EXPECT_FALSE(linear.weight().has_grad);
  linear.forward(x);
  linear.backward(dy);  // overwrites the stale contents
  for (std::size_t i = 0; i < once.size(); ++i) {
    EXPECT_FLOAT_EQ(bucket.data<float>()[10 + i], once[i]);
  }
}

TEST(Activations, GradientsMatchFiniteDifferences) {
  Generator generator(7);
  ReLU relu;
  expect_module_gradients(relu, away_from_zero({3, 4}, generator));
  GELU gelu;
  expect_module_gradients(gelu, random_tensor({3, 4}, generator, -3.0f, 3.0f));
  Tanh tanh_layer;
  expect_module_gradients(tanh_layer, random_tensor({3, 4}, generator, -2.0f, 2.0f));
  for (Module* m : std::vector<Module*>{&relu, &gelu, &tanh_layer}) {
    EXPECT_EQ(m->forward(Tensor::empty({0, 4})).shape(), (Shape{0, 4}));
    EXPECT_EQ(m->backward(Tensor::empty({0, 4})).shape(), (Shape{0, 4}));
  }
}

TEST(Dropout, TrainMasksAndScalesEvalIsIdentity) {
  Generator generator(8);
  Dropout dropout(0.5f, 42);
  Tensor x = random_tensor({200, 10}, generator, 1.0f, 2.0f);
  Tensor y = dropout.forward(x).clone();
  Tensor r = random_tensor({200, 10}, generator);
  Tensor dx = dropout.backward(r);
  int zeros = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const float mask = y.data<float>()[i] / x.data<float>()[i];
    ASSERT_TRUE(mask == 0.0f || std::abs(mask - 2.0f) < 1e-6f);
    zeros += mask == 0.0f;
    EXPECT_FLOAT_EQ(dx.data<float>()[i], r.data<float>()[i] * mask);
  }
  EXPECT_NEAR(zeros / 2000.0, 0.5, 0.05);
  dropout.eval();
  EXPECT_EQ(dropout.forward(x).data_ptr(), x.data_ptr());
  EXPECT_EQ(dropout.backward(r).data_ptr(), r.data_ptr());
}

// Dropout whose every forward draws the same mask, so that finite differences see one function.
class FixedMaskDropout : public Dropout {
 public:
  using Dropout::Dropout;

 protected:
  Tensor forward_impl(const Tensor& input) override {
    generator().set_state(start_);
    return Dropout::forward_impl(input);
  }

 private:
  Generator::State start_ = generator().state();
};

TEST(Dropout, GradientMatchesFiniteDifferencesForAFixedMask) {
  Generator generator(17);
  FixedMaskDropout dropout(0.4f, 5);
  expect_module_gradients(dropout, random_tensor({6, 5}, generator));
}

TEST(Dropout, SameSeedSameMasksOtherSeedOtherMasks) {
  Tensor x = Tensor::from_vector<float>(std::vector<float>(64, 1.0f), {64});
  Dropout a(0.3f, 9), b(0.3f, 9), c(0.3f, derive_seed(9, 1));
  std::vector<float> ya = a.forward(x).to_vector<float>();
  EXPECT_EQ(ya, b.forward(x).to_vector<float>());
  EXPECT_NE(ya, c.forward(x).to_vector<float>());
  EXPECT_THROW(Dropout(1.0f, 0), InvalidArgument);
}

TEST(Embedding, LooksUpRowsAndAddsGradientsOfRepeatedIndices) {
  Generator generator(10);
  Embedding embedding(5, 3, generator);
  Tensor indices = Tensor::from_vector<std::int64_t>({4, 1, 4, 0}, {2, 2});
  Tensor y = embedding.forward(indices);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  const float* table = embedding.weight().value.data<float>();
  for (int d = 0; d < 3; ++d) EXPECT_EQ(y.data<float>()[3 + d], table[1 * 3 + d]);
  expect_module_gradients(embedding, indices);
  Tensor ones = Tensor::from_vector<float>(std::vector<float>(12, 1.0f), {2, 2, 3});
  embedding.zero_grad();
  embedding.forward(indices);
  EXPECT_FALSE(embedding.backward(ones).defined());
  const std::vector<float> grad = embedding.weight().grad.to_vector<float>();
  EXPECT_EQ(grad[4 * 3], 2.0f);
  EXPECT_EQ(grad[2 * 3], 0.0f);
  EXPECT_THROW(embedding.forward(Tensor::from_vector<std::int64_t>({5}, {1})), Error);
  EXPECT_EQ(embedding.forward(Tensor::empty({0}, DType::int64)).shape(), (Shape{0, 3}));
}

TEST(ToDevice, PassesATensorAlreadyThereAndItsGradientThrough) {
  ToDevice to_cpu(Device::cpu());
  EXPECT_THROW(to_cpu.backward(Tensor::zeros({2})), Error);  // no forward yet
  Generator generator(17);
  const Tensor x = random_tensor({2, 3}, generator);
  EXPECT_EQ(to_cpu.forward(x).data_ptr(), x.data_ptr());
  const Tensor dy = random_tensor({2, 3}, generator);
  EXPECT_EQ(to_cpu.backward(dy).data_ptr(), dy.data_ptr());
  to_cpu.set_input_grad_needed(false);
  to_cpu.forward(x);
  EXPECT_FALSE(to_cpu.backward(dy).defined());
}

std::unique_ptr<Sequential> make_mlp(Generator& generator) {
  auto model = std::make_unique<Sequential>();
  model->emplace<Linear>(4, 6, generator);
  model->emplace<Tanh>();
  model->emplace<Linear>(6, 5, generator);
  model->emplace<GELU>();
  model->emplace<Linear>(5, 3, generator);
  return model;
}

TEST(Sequential, GradientsMatchFiniteDifferences) {
  Generator generator(11);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  expect_module_gradients(model, random_tensor({3, 4}, generator));
}

TEST(Sequential, LinearAndActivationRunFusedAsTheyDoOneByOne) {
  Generator generator(16);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  const Tensor x = random_tensor({3, 4}, generator);
  const Tensor dy = random_tensor({3, 3}, generator);
  model.zero_grad();
  const std::vector<float> fused = model.forward(x).to_vector<float>();
  const std::vector<float> fused_dx = model.backward(dy).to_vector<float>();
  std::vector<std::vector<float>> fused_grads;
  for (Parameter* param : model.parameters()) fused_grads.push_back(param->grad.to_vector<float>());

  model.zero_grad();
  Tensor h = x;
  for (std::size_t i = 0; i < model.size(); ++i) h = model[i].forward(h);
  Tensor g = dy;
  for (std::size_t i = model.size(); i-- > 0;) g = model[i].backward(g);
  // The bias is added after the GEMM's sum instead of before it: the same to float rounding.
  auto expect_near = [](const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f) << i;
  };
  expect_near(fused, h.to_vector<float>());
  expect_near(fused_dx, g.to_vector<float>());
  std::vector<Parameter*> params = model.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    expect_near(fused_grads[p], params[p]->grad.to_vector<float>());
  }
}

TEST(Sequential, ParametersAreNamedAndOrderedLikePyTorch) {
  Generator generator(12);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  std::vector<std::string> names;
  for (Parameter* param : model.parameters()) names.push_back(param->name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                             "4.bias"}));
  EXPECT_EQ(model.parameter_count(), 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3);
  Sequential outer;
  outer.append(make_mlp(generator));
  EXPECT_EQ(outer.parameters()[3]->name, "0.2.bias");
}

TEST(Sequential, GradReadyHookReportsEachParameterOnceLastLayerFirst) {
  Generator generator(13);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  std::vector<std::size_t> order;
  std::vector<Parameter*> params = model.parameters();
  model.set_grad_ready_hook([&](std::size_t index) {
    EXPECT_TRUE(params[index]->has_grad) << "reported before its grad was written";
    order.push_back(index);
  });
  model.zero_grad();
  model.forward(random_tensor({2, 4}, generator));
  model.backward(random_tensor({2, 3}, generator));
  EXPECT_EQ(order, (std::vector<std::size_t>{5, 4, 3, 2, 1, 0}));
  model.set_grad_ready_hook({});
  model.forward(random_tensor({2, 4}, generator));
  model.backward(random_tensor({2, 3}, generator));
  EXPECT_EQ(order.size(), 6u);
}

TEST(Sequential, InputGradCanBeSkippedAndEvalPropagates) {
  Generator generator(14);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  model.set_input_grad_needed(false);
  model.forward(random_tensor({2, 4}, generator));
  EXPECT_FALSE(model.backward(random_tensor({2, 3}, generator)).defined());
  for (Parameter* param : model.parameters()) EXPECT_TRUE(param->has_grad);
  model.eval();
  EXPECT_FALSE(model[1].is_training());
}

TEST(Sequential, BatchOfZeroRowsRunsForwardAndBackward) {
  Generator generator(15);
  auto mlp = make_mlp(generator);
  Sequential& model = *mlp;
  model.append(std::make_unique<Dropout>(0.5f, 1));
  model.zero_grad();
  EXPECT_EQ(model.forward(Tensor::empty({0, 4})).shape(), (Shape{0, 3}));
  EXPECT_EQ(model.backward(Tensor::empty({0, 3})).shape(), (Shape{0, 4}));
  for (Parameter* param : model.parameters()) {
    for (float g : param->grad.to_vector<float>()) EXPECT_EQ(g, 0.0f) << param->name;
  }
}

TEST(Modules, ShapeErrorsNameTheShapes) {
  Generator generator(16);
  Linear linear(3, 2, generator);
  try {
    linear.forward(Tensor::empty({4, 5}));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("[4, 5]"), std::string::npos) << error.what();
  }
  linear.forward(Tensor::empty({4, 3}));
  EXPECT_THROW(linear.backward(Tensor::empty({3, 2})), Error);
}

}  // namespace
}  // namespace ddp::nn
