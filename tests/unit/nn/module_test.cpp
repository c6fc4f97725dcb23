// The module protocol: tied parameters, a module run twice in one forward, buffers and the
// state_dict, Residual and Flatten, and the errors of a backward that has nothing to
// differentiate.
#include <gtest/gtest.h>

#include "ddp/io/checkpoint.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/residual.hpp"
#include "ddp/nn/sequential.hpp"
#include "gradcheck.hpp"
#include "shared_weight_models.hpp"

namespace ddp::nn {
namespace {

using testing::expect_module_gradients;
using testing::random_tensor;
using testing_models::TiedLanguageModel;
using testing_models::TwiceApplied;

std::vector<std::string> names_of(const std::vector<NamedTensor>& tensors) {
  std::vector<std::string> names;
  for (const NamedTensor& named : tensors) names.push_back(named.name);
  return names;
}

TEST(TiedParameter, IsOneParameterWhoseGradientIsTheSumOfBothUses) {
  TiedLanguageModel tied(7, 4, 1, true, 3), untied(7, 4, 1, false, 3);
  const std::vector<Parameter*> params = tied.parameters();
  ASSERT_EQ(params.size(), 3u);  // wte.weight, mix.weight, mix.bias: lm_head's is wte's
  EXPECT_EQ(params[0]->name, "wte.weight");
  EXPECT_EQ(&tied.lm_head().weight(), &tied.wte().weight());
  EXPECT_EQ(names_of(tied.state_dict()),
            (std::vector<std::string>{"wte.weight", "mix.weight", "mix.bias"}));
  EXPECT_EQ(tied.tied_names(),
            (std::vector<std::pair<std::string, std::string>>{{"lm_head.weight", "wte.weight"}}));
  EXPECT_EQ(tied.parameter_count(), 7 * 4 + 4 * 4 + 4);

  // Reported once, after its last use's gradient (the embedding's, which backward reaches last).
  std::vector<std::size_t> order;
  tied.set_grad_ready_hook([&](std::size_t index) { order.push_back(index); });
  Generator generator(5);
  const Tensor tokens = Tensor::from_vector<std::int64_t>({1, 6, 1, 0, 3, 6}, {2, 3});
  const Tensor dy = random_tensor({2, 3, 7}, generator);
  tied.zero_grad();
  tied.forward(tokens);
  tied.backward(dy);
  EXPECT_EQ(order, (std::vector<std::size_t>{2, 1, 0}));

  untied.zero_grad();
  untied.forward(tokens);
  untied.backward(dy);
  const std::vector<float> from_embedding = untied.wte().weight().grad.to_vector<float>();
  const std::vector<float> from_head = untied.lm_head().weight().grad.to_vector<float>();
  const std::vector<float> sum = params[0]->grad.to_vector<float>();
  for (std::size_t i = 0; i < sum.size(); ++i) {
    EXPECT_NEAR(sum[i], from_embedding[i] + from_head[i], 1e-6f) << i;
  }
  tied.set_grad_ready_hook({});
}

TEST(TiedParameter, GradientMatchesFiniteDifferences) {
  TiedLanguageModel tied(7, 4, 1, true, 4);
  expect_module_gradients(tied, Tensor::from_vector<std::int64_t>({2, 5, 5, 1}, {4}));
}

TEST(TiedParameter, ShapesMustAgreeAndNamesMustExist) {
  Generator generator(6);
  Linear a(3, 4, generator), b(4, 3, generator);
  EXPECT_THROW(a.tie_parameter("weight", b, "weight"), Error);
  EXPECT_THROW(a.tie_parameter("scale", b, "weight"), Error);
}

TEST(ModuleRunTwice, GradientIsTheSumOverBothCallsAndReportedOnce) {
  TwiceApplied model(3, 7);
  std::vector<std::size_t> order;
  model.set_grad_ready_hook([&](std::size_t index) { order.push_back(index); });
  Generator generator(8);
  model.zero_grad();
  model.forward(random_tensor({2, 3}, generator));
  model.backward(random_tensor({2, 3}, generator));
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 0}));  // bias, then weight, once each
  model.set_grad_ready_hook({});
  expect_module_gradients(model, random_tensor({5, 3}, generator));
}

TEST(ModuleRunTwice, EachCallKeepsItsOwnOutputInEvalModeToo) {
  TwiceApplied model(3, 9);
  model.eval();
  Generator generator(10);
  const Tensor x = random_tensor({2, 3}, generator);
  Generator same(9);
  Linear layer(3, 3, same);
  Tanh tanh;
  const std::vector<float> expected =
      layer.forward(tanh.forward(layer.forward(x))).to_vector<float>();
  EXPECT_EQ(model.forward(x).to_vector<float>(), expected);
}

TEST(Module, BackwardWithoutAForwardCallLeftIsAnError) {
  Generator generator(11);
  Linear linear(2, 2, generator);
  EXPECT_THROW(linear.backward(Tensor::zeros({1, 2})), Error);
  linear.forward(Tensor::zeros({1, 2}));
  linear.backward(Tensor::zeros({1, 2}));
  try {
    linear.backward(Tensor::zeros({1, 2}));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("ddp::nn::Linear backward with no forward call left"),
              std::string::npos)
        << error.what();
  }
}

// A module that reports its parameter twice per call: the hook must not fire twice.
class ReportsTwice : public Module {
 public:
  ReportsTwice() { register_parameter("scale", {1}); }

 protected:
  Tensor forward_impl(const Tensor& x) override { return x; }
  Tensor backward_impl(const Tensor& dy) override {
    grad_ready(parameter(0));
    grad_ready(parameter(0));
    return dy;
  }
};

TEST(Module, AGradientReportedMoreOftenThanUsedIsAnError) {
  ReportsTwice module;
  module.forward(Tensor::zeros({1}));
  try {
    module.backward(Tensor::zeros({1}));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'scale' was reported 2 times for 1 uses"),
              std::string::npos)
        << error.what();
  }
}

// Running statistics in miniature: a buffer of per-feature sums of every training input, and a
// 0-dimensional int64 count, as BatchNorm keeps num_batches_tracked.
class CountingLayer : public Module {
 public:
  explicit CountingLayer(std::int64_t features)
      : sums_(register_buffer("running_sum", Tensor::zeros({features}))),
        count_(register_buffer("num_batches_tracked", Tensor::zeros({}, DType::int64))) {
    register_parameter("weight", {features});
  }

 protected:
  Tensor forward_impl(const Tensor& x) override {
    if (is_training()) {
      kernels::add_scaled_(sums_.value, 1.0f, x.reshape({x.numel()}));
      ++count_.value.data<std::int64_t>()[0];
    }
    return x;
  }
  Tensor backward_impl(const Tensor& dy) override { return dy; }

 private:
  Buffer& sums_;
  Buffer& count_;
};

TEST(Buffers, AreNamedInStateDictOrderAndNeverParameters) {
  Generator generator(12);
  Sequential model;
  model.emplace<Linear>(3, 3, generator);
  model.emplace<CountingLayer>(3);
  EXPECT_EQ(model.parameters().size(), 3u);  // 0.weight, 0.bias, 1.weight
  const std::vector<Buffer*> buffers = model.buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0]->name, "1.running_sum");
  EXPECT_EQ(buffers[1]->name, "1.num_batches_tracked");
  EXPECT_EQ(buffers[1]->value.ndim(), 0u);
  EXPECT_EQ(names_of(model.state_dict()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.running_sum",
                                      "1.num_batches_tracked"}));

  model.forward(Tensor::from_vector<float>({1, 2, 3}, {1, 3}));
  model.eval();
  model.forward(Tensor::from_vector<float>({1, 2, 3}, {1, 3}));
  EXPECT_EQ(buffers[1]->value.to_vector<std::int64_t>(), std::vector<std::int64_t>{1});

  // A checkpoint's model section carries them, and loading puts them back.
  const std::vector<NamedTensor> saved = io::model_state(model);
  Generator other(13);
  Sequential restored;
  restored.emplace<Linear>(3, 3, other);
  restored.emplace<CountingLayer>(3);
  io::load_model_state(saved, restored);
  EXPECT_EQ(restored.buffers()[0]->value.to_vector<float>(), buffers[0]->value.to_vector<float>());
  EXPECT_EQ(restored.buffers()[1]->value.to_vector<std::int64_t>(), std::vector<std::int64_t>{1});
}

TEST(Residual, AddsTheBranchToTheIdentityOrToAProjection) {
  Generator generator(14);
  auto branch = std::make_unique<Sequential>();
  branch->emplace<Linear>(4, 4, generator);
  branch->emplace<Tanh>();
  Residual identity(std::move(branch));
  const Tensor x = random_tensor({3, 4}, generator);
  const std::vector<float> y = identity.forward(x).to_vector<float>();
  const std::vector<float> fx = identity.branch().forward(x).to_vector<float>();
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_FLOAT_EQ(y[i], fx[i] + x.data<float>()[i]);
  expect_module_gradients(identity, x);
}

TEST(Residual, ProjectionShortcutNamesAndGradients) {
  Generator generator(15);
  auto wide = std::make_unique<Sequential>();
  wide->emplace<Linear>(4, 6, generator);
  wide->emplace<Tanh>();
  Sequential model;
  model.emplace<Residual>(std::move(wide), std::make_unique<Linear>(4, 6, generator, false));
  model.emplace<ReLU>();
  EXPECT_EQ(
      names_of(model.state_dict()),
      (std::vector<std::string>{"0.branch.0.weight", "0.branch.0.bias", "0.shortcut.weight"}));
  Tensor x = random_tensor({3, 4}, generator);
  // Away from ReLU's kink at 0 for the finite differences.
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] *= 0.5f;
  expect_module_gradients(model, x, 17, 1e-3, 5e-3);

  auto narrow = std::make_unique<Linear>(4, 5, generator);
  Residual mismatched(std::move(narrow));
  EXPECT_THROW(mismatched.forward(x), Error);
}

TEST(Flatten, IsAViewBothWays) {
  Flatten flatten;
  Generator generator(16);
  const Tensor x = random_tensor({2, 3, 4}, generator);
  const Tensor y = flatten.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.data_ptr(), x.data_ptr());
  const Tensor dx = flatten.backward(y);
  EXPECT_EQ(dx.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(flatten.forward(Tensor::zeros({0, 3, 4})).shape(), (Shape{0, 12}));
}

}  // namespace
}  // namespace ddp::nn
