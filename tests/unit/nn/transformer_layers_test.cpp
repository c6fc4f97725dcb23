// The transformer's layers on their own: LayerNorm, the tanh GELU and causal self-attention
// (shapes, errors, causality, finite-difference gradients; PyTorch's values are in
// tests/pytorch/layers_test.py).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "ddp/nn/activation.hpp"
#include "ddp/nn/causal_self_attention.hpp"
#include "ddp/nn/layer_norm.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using testing::expect_module_gradients;
using testing::random_tensor;

std::vector<std::string> names_of(Module& module) {
  std::vector<std::string> names;
  for (const NamedTensor& entry : module.state_dict()) names.push_back(entry.name);
  return names;
}

TEST(LayerNorm, NormalisesEachRowByItsMeanAndBiasedVariance) {
  LayerNorm norm(4);
  const Tensor y = norm.forward(Tensor::from_vector<float>({1, 2, 3, 6, -1, -1, -1, -1}, {2, 4}));
  // Row 1: mean 3, biased variance (4 + 1 + 0 + 9) / 4; row 2 is constant, so all zero.
  const double rstd = 1.0 / std::sqrt(3.5 + 1e-5);
  const std::vector<double> expected{-2 * rstd, -rstd, 0, 3 * rstd, 0, 0, 0, 0};
  const std::vector<float> got = y.to_vector<float>();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
}

TEST(LayerNorm, ParametersAreWeightOnesThenBiasZeros) {
  LayerNorm norm(3);
  EXPECT_EQ(names_of(norm), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(norm.weight().value.to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(norm.bias().value.to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(LayerNorm, GradientsMatchFiniteDifferences) {
  Generator generator(31);
  LayerNorm norm(5);
  norm.weight().value.copy_(random_tensor({5}, generator, 0.5f, 1.5f));
  norm.bias().value.copy_(random_tensor({5}, generator));
  expect_module_gradients(norm, random_tensor({2, 3, 5}, generator));
}

TEST(LayerNorm, RejectsAWrongLastDimensionAndABadSize) {
  LayerNorm norm(4);
  EXPECT_THROW(norm.forward(Tensor::zeros({2, 3})), Error);
  EXPECT_THROW(LayerNorm(0), InvalidArgument);
}

TEST(LayerNorm, EmptyBatchGivesZeroGradients) {
  LayerNorm norm(3);
  EXPECT_EQ(norm.forward(Tensor::zeros({0, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(norm.backward(Tensor::zeros({0, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(norm.weight().grad.to_vector<float>(), (std::vector<float>(3, 0.0f)));
}

// Over the whole range the exp inside sees, tails and far tails (whose exp is clamped) included.
TEST(GELUTanh, IsTheTanhApproximation) {
  GELUTanh gelu;
  std::vector<float> x{-1000.0f, -100.0f, -30.0f, 30.0f, 100.0f, 1000.0f};
  for (float v = -12.0f; v <= 12.0f; v += 0.0625f) x.push_back(v);
  const auto n = static_cast<std::int64_t>(x.size());
  const std::vector<float> y = gelu.forward(Tensor::from_vector(x, {n})).to_vector<float>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double expected =
        0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(y[i], expected, 3e-7 * (1 + std::abs(expected))) << v;
  }
}

TEST(GELUTanh, GradientsMatchFiniteDifferences) {
  Generator generator(32);
  GELUTanh gelu;
  expect_module_gradients(gelu, random_tensor({3, 7}, generator, -3.0f, 3.0f));
}

TEST(CausalSelfAttention, ChildrenAreCAttnThenCProjAsNanoGpt) {
  Generator generator(33);
  CausalSelfAttention attn(8, 2, generator);
  EXPECT_EQ(names_of(attn), (std::vector<std::string>{"c_attn.weight", "c_attn.bias",
                                                      "c_proj.weight", "c_proj.bias"}));
  EXPECT_EQ(attn.c_attn().weight().value.shape(), (Shape{24, 8}));
  EXPECT_EQ(attn.c_proj().weight().value.shape(), (Shape{8, 8}));
}

TEST(CausalSelfAttention, RejectsHeadsThatDoNotDivideDimAndInputsOfTheWrongShape) {
  Generator generator(34);
  EXPECT_THROW(CausalSelfAttention(10, 3, generator), InvalidArgument);
  EXPECT_THROW(CausalSelfAttention(8, 0, generator), InvalidArgument);
  CausalSelfAttention attn(8, 2, generator);
  EXPECT_THROW(attn.forward(Tensor::zeros({4, 8})), Error);      // no token dimension
  EXPECT_THROW(attn.forward(Tensor::zeros({2, 3, 6})), Error);   // dim 6, not 8
  EXPECT_THROW(attn.forward(Tensor::zeros({2, 0, 8})), Error);   // no tokens
  EXPECT_THROW(attn.backward(Tensor::zeros({2, 3, 8})), Error);  // no forward yet
}

TEST(CausalSelfAttention, AnOutputDependsOnlyOnTokensAtOrBeforeIt) {
  Generator generator(35);
  CausalSelfAttention attn(8, 2, generator);
  Tensor x = random_tensor({1, 5, 8}, generator);
  const std::vector<float> before = attn.forward(x).to_vector<float>();
  for (std::int64_t c = 0; c < 8; ++c) x.data<float>()[3 * 8 + c] += 1.0f;  // token 3 changes
  const std::vector<float> after = attn.forward(x).to_vector<float>();
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (i < 3 * 8) {
      EXPECT_EQ(before[i], after[i]) << "token " << i / 8 << " saw a later token";
    } else {
      EXPECT_NE(before[i], after[i]) << "token " << i / 8 << " did not see token 3";
    }
  }
}

TEST(CausalSelfAttention, GradientsMatchFiniteDifferences) {
  Generator generator(36);
  CausalSelfAttention attn(6, 3, generator);
  expect_module_gradients(attn, random_tensor({2, 4, 6}, generator));
}

TEST(CausalSelfAttention, EmptyBatchAndNoInputGradient) {
  Generator generator(37);
  CausalSelfAttention attn(4, 2, generator);
  EXPECT_EQ(attn.forward(Tensor::zeros({0, 3, 4})).shape(), (Shape{0, 3, 4}));
  EXPECT_EQ(attn.backward(Tensor::zeros({0, 3, 4})).shape(), (Shape{0, 3, 4}));
  for (Parameter* param : attn.parameters()) {
    EXPECT_TRUE(param->has_grad) << param->name;
    for (float g : param->grad.to_vector<float>()) EXPECT_EQ(g, 0.0f) << param->name;
  }
  attn.set_input_grad_needed(false);
  attn.zero_grad();
  attn.forward(random_tensor({1, 2, 4}, generator));
  EXPECT_FALSE(attn.backward(random_tensor({1, 2, 4}, generator)).defined());
  for (Parameter* param : attn.parameters()) EXPECT_TRUE(param->has_grad) << param->name;
}

}  // namespace
}  // namespace ddp::nn
