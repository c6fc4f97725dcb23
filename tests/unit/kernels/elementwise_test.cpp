#include <gtest/gtest.h>

#include <cmath>

#include "ddp/kernels/activation.hpp"
#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/loss.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/reduce.hpp"
#include "ddp/kernels/softmax.hpp"

namespace ddp::kernels {
namespace {

TEST(Activation, ForwardValuesMatchTheDefinitions) {
  Tensor x = Tensor::from_vector<float>({-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, {5});
  Tensor y = Tensor::empty({5});
  activation_forward(Activation::relu, x, y);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 0, 0.5f, 2.0f}));
  activation_forward(Activation::gelu, x, y);
  // torch.nn.functional.gelu(torch.tensor([-2., -.5, 0., .5, 2.])) with torch 1.13; 1e-6 allows
  // for the cancellation in 1 + erf(x) at -2, where libm's erf and torch's differ in the last bit.
  const std::vector<float> gelu = {-0.0455000997f, -0.1542687863f, 0.0f, 0.3457311988f,
                                   1.9544999599f};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y.data<float>()[i], gelu[i], 1e-6f);
  activation_forward(Activation::tanh, x, y);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], std::tanh(x.data<float>()[i]));
}

TEST(Activation, ReluBackwardPassesGradientWhereTheOutputIsPositiveInPlace) {
  Tensor y = Tensor::from_vector<float>({0, 1, 0, 3}, {4});
  Tensor dy = Tensor::from_vector<float>({5, 6, 7, 8}, {4});
  activation_backward(Activation::relu, Tensor(), y, dy, dy);
  EXPECT_EQ(dy.to_vector<float>(), (std::vector<float>{0, 6, 0, 8}));
}

TEST(Activation, BiasActivationForwardIsBiasThenActivationInOnePass) {
  const Tensor bias = Tensor::from_vector<float>({0.25f, -1.5f, 3.0f}, {3});
  const Tensor z0 = Tensor::from_vector<float>({-2.0f, 0.5f, -3.5f, 1.0f, 1.5f, 0.0f}, {2, 3});
  for (Activation activation :
       {Activation::relu, Activation::gelu, Activation::gelu_tanh, Activation::tanh}) {
    std::vector<float> expected_z = z0.to_vector<float>();
    for (std::size_t i = 0; i < expected_z.size(); ++i) expected_z[i] += bias.data<float>()[i % 3];
    Tensor expected_y = Tensor::empty({2, 3});
    activation_forward(activation, Tensor::from_vector(expected_z, {2, 3}), expected_y);
    Tensor z = Tensor::from_vector(z0.to_vector<float>(), {2, 3});
    Tensor y = Tensor::empty({2, 3});
    bias_activation_forward(activation, bias, z, y);
    EXPECT_EQ(z.to_vector<float>(), expected_z) << to_string(activation);
    EXPECT_EQ(y.to_vector<float>(), expected_y.to_vector<float>()) << to_string(activation);
  }
  Tensor z = Tensor::zeros({2, 3});
  Tensor y = Tensor::empty({2, 3});
  EXPECT_THROW(bias_activation_forward(Activation::relu, Tensor::zeros({2}), z, y), Error);
}

TEST(Bias, BroadcastAndColumnSums) {
  Tensor bias = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor y = Tensor::empty({2, 3});
  broadcast_rows(bias, y);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1, 2, 3, 1, 2, 3}));
  Tensor grad = Tensor::from_vector<float>({10, 10, 10}, {3});
  sum_rows(y, grad, true);
  EXPECT_EQ(grad.to_vector<float>(), (std::vector<float>{12, 14, 16}));
  sum_rows(Tensor::empty({0, 3}), grad, false);
  EXPECT_EQ(grad.to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Loss, CrossEntropyOfUniformLogitsIsLogClasses) {
  Tensor logits = Tensor::zeros({2, 4});
  Tensor targets = Tensor::from_vector<std::int64_t>({1, 3}, {2});
  Tensor log_probs = Tensor::empty({2, 4});
  EXPECT_NEAR(cross_entropy_forward(logits, targets, log_probs), 2.0 * std::log(4.0), 1e-6);
  Tensor bad = Tensor::from_vector<std::int64_t>({1, 4}, {2});
  EXPECT_THROW(cross_entropy_forward(logits, bad, log_probs), Error);
}

TEST(Softmax, RowsSumToOneLogSoftmaxIsItsLogAndLargeInputsStayFinite) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 1000, 1000, -1000}, {2, 3});
  Tensor p = Tensor::empty({2, 3});
  Tensor lp = Tensor::empty({2, 3});
  softmax_rows(x, p);
  log_softmax_rows(x, lp);
  for (int r = 0; r < 2; ++r) {
    double total = 0.0;
    for (int c = 0; c < 3; ++c) {
      const float prob = p.data<float>()[r * 3 + c];
      total += prob;
      if (prob > 1e-20f) {
        EXPECT_NEAR(std::log(prob), lp.data<float>()[r * 3 + c], 1e-5);
      }
    }
    EXPECT_NEAR(total, 1.0, 1e-6);
  }
  EXPECT_NEAR(lp.data<float>()[3], -std::log(2.0f), 1e-6);
  EXPECT_NEAR(lp.data<float>()[5], -2000.0f - std::log(2.0f), 1e-3);  // exp underflows, log not
  Tensor no_rows = p.rows(0, 0);
  softmax_rows(Tensor::empty({0, 3}), no_rows);
}

TEST(Pointwise, ScaleAddMultiplyAndReductions) {
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3});
  Tensor y = Tensor::from_vector<float>({1, 1, 1}, {3});
  add_scaled_(y, 2.0f, x);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3, -3, 7}));
  scale_(y, 0.5f);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, -1.5f, 3.5f}));
  multiply(x, y, y);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, 3.0f, 10.5f}));
  EXPECT_DOUBLE_EQ(sum(x), 2.0);
  EXPECT_DOUBLE_EQ(squared_norm(x), 14.0);
}

TEST(Pointwise, DropoutMaskKeepsAboutOneMinusPScaled) {
  Generator generator(3);
  Tensor mask = Tensor::empty({10000});
  dropout_mask(mask, 0.25f, generator);
  int kept = 0;
  for (float m : mask.to_vector<float>()) {
    ASSERT_TRUE(m == 0.0f || m == 1.0f / 0.75f);
    kept += m != 0.0f;
  }
  EXPECT_NEAR(kept / 10000.0, 0.75, 0.02);
}

}  // namespace
}  // namespace ddp::kernels
