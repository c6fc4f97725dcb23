#include "ddp/nn/loss.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "ddp/kernels/step_totals.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using testing::expect_matches_differences;
using testing::random_tensor;

Tensor labels(std::vector<std::int64_t> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return Tensor::from_vector(values, {n});
}

TEST(CrossEntropyLoss, GradientMatchesFiniteDifferences) {
  Generator generator(1);
  Tensor logits = random_tensor({4, 5}, generator, -2.0f, 2.0f);
  Tensor target = labels({0, 3, 4, 3});
  CrossEntropyLoss loss;
  loss.forward(logits, target);
  Tensor grad = loss.backward().clone();
  expect_matches_differences(
      logits, grad, [&] { return loss.forward(logits, target); }, "logits", 1e-2, 2e-3);
}

TEST(CrossEntropyLoss, MeanOfMinusLogSoftmaxAtTheTarget) {
  Tensor logits = Tensor::from_vector<float>({1, 2, 3, 0, 0, 0}, {2, 3});
  CrossEntropyLoss loss;
  const double row0 = -(3.0 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  const double row1 = std::log(3.0);
  EXPECT_NEAR(loss.forward(logits, labels({2, 1})), (row0 + row1) / 2, 1e-6);
  Tensor grad = loss.backward(4.0f);
  // 4 * (softmax - one_hot) / 2 in row 1: 2 * (1/3 - 1) at the target.
  EXPECT_NEAR(grad.data<float>()[4], 2.0 * (1.0 / 3.0 - 1.0), 1e-6);
}

// The loss kept in step totals is the one forward returns, added up, and backward is the same.
TEST(Losses, ForwardIntoAddsWhatForwardReturns) {
  Generator generator(5);
  Tensor logits = random_tensor({6, 4}, generator, -2.0f, 2.0f);
  Tensor target = labels({0, 3, 1, 3, 2, 0});
  Tensor totals = kernels::make_step_totals(Device::cpu());
  CrossEntropyLoss ce;
  const double first = ce.forward(logits, target, 10);
  Tensor grad = ce.backward().clone();
  ce.forward_into(logits, target, 10, totals);
  ce.forward_into(logits, target, 10, totals);
  EXPECT_EQ(ce.backward().to_vector<float>(), grad.to_vector<float>());
  MSELoss mse;
  Tensor prediction = random_tensor({3, 2}, generator);
  Tensor wanted = random_tensor({3, 2}, generator);
  const double squared = mse.forward(prediction, wanted);
  mse.forward_into(prediction, wanted, 0, totals);
  EXPECT_NEAR(totals.data<double>()[kernels::kLossSum], 2 * first + squared, 1e-6);
  EXPECT_EQ(totals.data<double>()[kernels::kBadTargets], 0);
  EXPECT_THROW(ce.forward_into(logits, labels({0, 4, 1, 3, 2, 0}), 0, totals), Error);
}

// Two ranks' slices with the global batch as normaliser add up to the whole batch's mean loss
// and gradient: what DDP's SUM all-reduce relies on, an empty slice included.
TEST(CrossEntropyLoss, GlobalNormaliserMakesSlicesAddUpToTheWholeBatch) {
  Generator generator(2);
  Tensor logits = random_tensor({5, 3}, generator);
  Tensor target = labels({0, 1, 2, 2, 1});
  CrossEntropyLoss whole;
  const float whole_loss = whole.forward(logits, target);
  Tensor whole_grad = whole.backward();
  CrossEntropyLoss part;
  float summed = 0.0f;
  for (auto [begin, end] : std::vector<std::pair<int, int>>{{0, 3}, {3, 5}, {5, 5}}) {
    summed += part.forward(logits.rows(begin, end), target.rows(begin, end), 5);
    Tensor grad = part.backward();
    ASSERT_EQ(grad.size(0), end - begin);
    for (std::int64_t i = 0; i < grad.numel(); ++i) {
      EXPECT_NEAR(grad.data<float>()[i], whole_grad.data<float>()[begin * 3 + i], 1e-7);
    }
  }
  EXPECT_NEAR(summed, whole_loss, 1e-6);
}

TEST(CrossEntropyLoss, EmptyBatchIsZeroNotNaN) {
  CrossEntropyLoss loss;
  EXPECT_EQ(loss.forward(Tensor::empty({0, 4}), Tensor::empty({0}, DType::int64)), 0.0f);
  EXPECT_EQ(loss.backward().shape(), (Shape{0, 4}));
  EXPECT_THROW(loss.forward(Tensor::empty({2, 4}), labels({1})), Error);
  EXPECT_THROW(loss.forward(Tensor::zeros({1, 4}), labels({1}), -1), Error);
}

// A language model's logits [n, T, V] against targets [n, T]: the mean over the n * T tokens of
// -log softmax at each token's target, by hand, and a gradient of the logits' shape.
TEST(CrossEntropyLoss, SequencesAverageOverEveryToken) {
  // Two sequences of two positions, three classes.
  Tensor logits = Tensor::from_vector<float>({1, 2, 3, 0, 0, 0, 0, 1, 0, 2, 0, 0}, {2, 2, 3});
  Tensor target = Tensor::from_vector<std::int64_t>({2, 1, 0, 0}, {2, 2});
  const double lse123 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double lse010 = std::log(2.0 + std::exp(1.0));
  const double lse200 = std::log(std::exp(2.0) + 2.0);
  const double tokens[] = {lse123 - 3.0, std::log(3.0), lse010, lse200 - 2.0};
  const double mean = (tokens[0] + tokens[1] + tokens[2] + tokens[3]) / 4;
  CrossEntropyLoss loss;
  EXPECT_NEAR(loss.forward(logits, target), mean, 1e-6);
  Tensor grad = loss.backward();
  EXPECT_EQ(grad.shape(), (Shape{2, 2, 3}));
  // Position (1, 0), target 0: (softmax - 1) / 4 at class 0, softmax / 4 at class 1.
  EXPECT_NEAR(grad.data<float>()[6], (1.0 / std::exp(lse010) - 1.0) / 4, 1e-6);
  EXPECT_NEAR(grad.data<float>()[7], (std::exp(1.0 - lse010)) / 4, 1e-6);
  // Under DDP: the global token count. Slices of 1 and 1 sequences (and an empty one) with
  // normaliser 2 sequences * 2 positions add up to the whole batch's mean.
  CrossEntropyLoss part;
  double summed = 0;
  for (auto [begin, end] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 2}}) {
    summed += part.forward(logits.rows(begin, end), target.rows(begin, end), 2 * 2);
    EXPECT_EQ(part.backward().shape(), (Shape{end - begin, 2, 3}));
  }
  EXPECT_NEAR(summed, mean, 1e-6);
}

TEST(CrossEntropyLoss, SequenceTargetsMustHaveTheLogitsLeadingShape) {
  CrossEntropyLoss loss;
  Tensor logits = Tensor::zeros({2, 3, 5});
  EXPECT_THROW(loss.forward(logits, labels({1, 2})), Error);
  EXPECT_THROW(loss.forward(logits, Tensor::zeros({3, 2}, DType::int64)), Error);
  EXPECT_THROW(loss.forward(logits, Tensor::from_vector<std::int64_t>({0, 1, 2, 3, 4, 5}, {2, 3})),
               Error);  // 5 is no class of 5
  EXPECT_NO_THROW(loss.forward(logits, Tensor::zeros({2, 3}, DType::int64)));
  EXPECT_THROW(loss.forward(Tensor::zeros({4}), labels({0, 0, 0, 0})), Error);
}

TEST(MSELoss, GradientMatchesFiniteDifferencesAndMeanIsOverElements) {
  Generator generator(3);
  Tensor prediction = random_tensor({3, 4}, generator);
  Tensor target = random_tensor({3, 4}, generator);
  MSELoss loss;
  loss.forward(prediction, target);
  Tensor grad = loss.backward().clone();
  expect_matches_differences(
      prediction, grad, [&] { return loss.forward(prediction, target); }, "prediction", 1e-2, 2e-3);
  Tensor p = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor t = Tensor::zeros({2, 2});
  EXPECT_FLOAT_EQ(loss.forward(p, t), 30.0f / 4.0f);
  EXPECT_FLOAT_EQ(loss.forward(p, t, 4), 30.0f / 8.0f);
  EXPECT_FLOAT_EQ(loss.backward().data<float>()[3], 2.0f * 4.0f / 8.0f);
  EXPECT_EQ(loss.forward(Tensor::empty({0, 2}), Tensor::empty({0, 2})), 0.0f);
}

}  // namespace
}  // namespace ddp::nn
