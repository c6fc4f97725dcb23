// MaxPool2d, AvgPool2d and AdaptiveAvgPool2d on small hand-computed cases, finite differences,
// empty batches and bad shapes (tests/pytorch/layers_test.py compares them with PyTorch).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ddp/nn/pooling.hpp"
#include "ddp/nn/sequential.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using testing::expect_module_gradients;
using testing::random_tensor;

Tensor image(std::vector<float> values, Shape shape) {
  return Tensor::from_vector(values, std::move(shape));
}

// Distinct values 0.1 apart in a scrambled order: no finite-difference step reorders a window.
Tensor distinct_values(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  const std::int64_t n = t.numel();  // the test's sizes are not multiples of 37
  for (std::int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>((i * 37) % n) * 0.1f;
  return t;
}

TEST(MaxPool2d, TakesEachWindowsMaximumAndRoutesItsGradientThere) {
  MaxPool2d pool(2);
  // Windows: {1 2 4 0} -> 4 at 4; {5 3 1 1} -> 5 at 2; {7 8 6 8} -> the first 8, at 9;
  // {2 9 9 0} -> the first 9, at 11.
  const Tensor x = image({1, 2, 5, 3, 4, 0, 1, 1, 7, 8, 2, 9, 6, 8, 9, 0}, {1, 1, 4, 4});
  EXPECT_EQ(pool.forward(x).to_vector<float>(), (std::vector<float>{4, 5, 8, 9}));
  const Tensor dx = pool.backward(image({10, 20, 30, 40}, {1, 1, 2, 2}));
  EXPECT_EQ(dx.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(dx.to_vector<float>(),
            (std::vector<float>{0, 0, 20, 0, 10, 0, 0, 0, 0, 30, 0, 40, 0, 0, 0, 0}));
}

TEST(MaxPool2d, OverlappingWindowsWithOneMaximumAddTheirGradients) {
  MaxPool2d pool(2, 1);
  // Both windows of [[1 3 2] [0 1 0]] pick the 3.
  EXPECT_EQ(pool.forward(image({1, 3, 2, 0, 1, 0}, {1, 1, 2, 3})).to_vector<float>(),
            (std::vector<float>{3, 3}));
  EXPECT_EQ(pool.backward(image({1, 2}, {1, 1, 1, 2})).to_vector<float>(),
            (std::vector<float>{0, 3, 0, 0, 0, 0}));
}

TEST(MaxPool2d, NaNIsTheMaximumAndTheLastNaNGetsTheGradientAsInPyTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // PyTorch 1.13: max_pool2d([[1, nan], [3, nan]], 2) = nan with index 3; [[5, nan], [7, 1]]: 1.
  for (const auto& [values, at] : std::vector<std::pair<std::vector<float>, int>>{
           {{1, nan, 3, nan}, 3}, {{5, nan, 7, 1}, 1}}) {
    MaxPool2d pool(2);
    EXPECT_TRUE(std::isnan(pool.forward(image(values, {1, 1, 2, 2})).to_vector<float>()[0]));
    std::vector<float> expected(4, 0.0f);
    expected[static_cast<std::size_t>(at)] = 5.0f;
    EXPECT_EQ(pool.backward(image({5}, {1, 1, 1, 1})).to_vector<float>(), expected);
  }
}

TEST(MaxPool2d, GradientsMatchFiniteDifferences) {
  MaxPool2d overlapping(3, 2);
  expect_module_gradients(overlapping, distinct_values({2, 3, 7, 6}));
  MaxPool2d gaps(2, 3);
  expect_module_gradients(gaps, distinct_values({1, 2, 8, 7}));
}

TEST(AvgPool2d, AveragesEachWindowAndSharesTheGradientOverIt) {
  AvgPool2d pool(2, 1);
  const Tensor x = image({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  EXPECT_EQ(pool.forward(x).to_vector<float>(), (std::vector<float>{3, 4, 6, 7}));
  // Shares 1, 2, 3, 4: the centre is in all four windows, the corners in one each.
  EXPECT_EQ(pool.backward(image({4, 8, 12, 16}, {1, 1, 2, 2})).to_vector<float>(),
            (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

TEST(AvgPool2d, FloorModeLeavesTheLastRowAndColumnOutOfEveryWindow) {
  AvgPool2d pool(2);  // stride 2: one window over [3, 3]
  EXPECT_EQ(pool.forward(image({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3})).to_vector<float>(),
            (std::vector<float>{3}));
  EXPECT_EQ(pool.backward(image({8}, {1, 1, 1, 1})).to_vector<float>(),
            (std::vector<float>{2, 2, 0, 2, 2, 0, 0, 0, 0}));
}

TEST(AvgPool2d, GradientsMatchFiniteDifferences) {
  Generator generator(1);
  AvgPool2d overlapping(3, 2);
  expect_module_gradients(overlapping, random_tensor({2, 3, 7, 6}, generator));
  AvgPool2d gaps(2, 3);
  expect_module_gradients(gaps, random_tensor({1, 2, 8, 7}, generator));
}

TEST(AdaptiveAvgPool2d, OutputSizeOneIsThePlaneMean) {
  AdaptiveAvgPool2d pool(1);
  const Tensor x = image({1, 2, 3, 4, 5, 6, -6, -5, -4, -3, -2, -1}, {1, 2, 2, 3});
  const Tensor y = pool.forward(x);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3.5f, -3.5f}));
  const Tensor dx = pool.backward(image({6, 12}, {1, 2, 1, 1}));
  EXPECT_EQ(dx.to_vector<float>(), (std::vector<float>{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}));
}

TEST(AdaptiveAvgPool2d, TwoOfThreeIsTheOverlappingWindowsOfPyTorchsFormula) {
  // Rows [0, 2) and [1, 3), columns likewise: AvgPool2d(2, 1) on 3 x 3.
  Generator generator(2);
  const Tensor x = random_tensor({2, 3, 3, 3}, generator);
  const Tensor dy = random_tensor({2, 3, 2, 2}, generator);
  AdaptiveAvgPool2d adaptive(2);
  AvgPool2d fixed(2, 1);
  EXPECT_EQ(adaptive.forward(x).to_vector<float>(), fixed.forward(x).to_vector<float>());
  EXPECT_EQ(adaptive.backward(dy).to_vector<float>(), fixed.backward(dy).to_vector<float>());
}

TEST(AdaptiveAvgPool2d, GradientsMatchFiniteDifferences) {
  Generator generator(3);
  AdaptiveAvgPool2d global(1);
  expect_module_gradients(global, random_tensor({2, 3, 5, 4}, generator));
  AdaptiveAvgPool2d uneven(3);
  expect_module_gradients(uneven, random_tensor({1, 2, 7, 5}, generator));
  AdaptiveAvgPool2d more_outputs_than_inputs(4);
  expect_module_gradients(more_outputs_than_inputs, random_tensor({1, 2, 3, 2}, generator));
}

// One of each layer, named for the failure messages.
struct Pools {
  MaxPool2d max{2};
  AvgPool2d avg{3, 1};
  AdaptiveAvgPool2d adaptive{1};
  std::vector<std::pair<std::string, Module*>> all() {
    return {{"MaxPool2d", &max}, {"AvgPool2d", &avg}, {"AdaptiveAvgPool2d", &adaptive}};
  }
};

TEST(Pooling, EmptyBatchRunsForwardAndBackward) {
  Pools pools;
  const std::vector<Shape> outputs = {{0, 3, 3, 2}, {0, 3, 4, 3}, {0, 3, 1, 1}};
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    auto [name, pool] = pools.all()[i];
    EXPECT_EQ(pool->forward(Tensor::empty({0, 3, 6, 5})).shape(), outputs[i]) << name;
    EXPECT_EQ(pool->backward(Tensor::empty(outputs[i])).shape(), (Shape{0, 3, 6, 5})) << name;
  }
}

TEST(Pooling, NoInputGradientWhenNotNeeded) {
  Pools pools;
  for (auto [name, pool] : pools.all()) {
    pool->set_input_grad_needed(false);
    const Tensor y = pool->forward(Tensor::zeros({2, 1, 4, 4}));
    EXPECT_FALSE(pool->backward(Tensor::zeros(y.shape())).defined()) << name;
  }
}

TEST(Pooling, StepsAfterTheFirstReuseTheirMemory) {
  Pools pools;
  Generator generator(4);
  const Tensor x = random_tensor({2, 3, 6, 6}, generator);
  for (auto [name, pool] : pools.all()) {
    const Tensor y = pool->forward(x);
    const Tensor dx = pool->backward(Tensor::zeros(y.shape()));
    for (int step = 0; step < 3; ++step) {
      EXPECT_EQ(pool->forward(x).data_ptr(), y.data_ptr()) << name;
      EXPECT_EQ(pool->backward(Tensor::zeros(y.shape())).data_ptr(), dx.data_ptr()) << name;
    }
  }
}

// pool(pool(x)) with one MaxPool2d(2): two calls in one pass, of different shapes.
class PooledTwice : public Module {
 protected:
  Tensor forward_impl(const Tensor& x) override { return pool_.forward(pool_.forward(x)); }
  Tensor backward_impl(const Tensor& dy) override { return pool_.backward(pool_.backward(dy)); }

 private:
  MaxPool2d pool_{2};
};

TEST(Pooling, TwoCallsInAPassKeepTheirOwnArgmaxAndShapes) {
  Generator generator(5);
  const Tensor x = random_tensor({2, 3, 8, 12}, generator);
  const Tensor dy = random_tensor({2, 3, 2, 3}, generator);
  PooledTwice twice;
  Sequential two_layers;
  two_layers.emplace<MaxPool2d>(2);
  two_layers.emplace<MaxPool2d>(2);
  EXPECT_EQ(twice.forward(x).to_vector<float>(), two_layers.forward(x).to_vector<float>());
  EXPECT_EQ(twice.backward(dy).to_vector<float>(), two_layers.backward(dy).to_vector<float>());
}

// The message of the Error call() throws (empty, and a failure, when it throws none).
template <typename Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no Error";
  return "";
}

TEST(Pooling, BadShapesAndArgumentsAreErrorsNamingThem) {
  MaxPool2d pool(3);
  EXPECT_NE(error_of([&] {
              pool.forward(Tensor::empty({1, 1, 2, 5}));
            }).find("[1, 1, 2, 5]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              pool.forward(Tensor::empty({3, 4, 4}));
            }).find("[N, C, H, W]"),
            std::string::npos);
  AdaptiveAvgPool2d adaptive(1);
  EXPECT_NE(error_of([&] {
              adaptive.forward(Tensor::empty({4, 4}));
            }).find("[4, 4]"),
            std::string::npos);
  EXPECT_THROW(pool.forward(Tensor::empty({1, 1, 4, 4}, DType::float64)), Error);
  EXPECT_THROW(MaxPool2d(0), InvalidArgument);
  EXPECT_THROW(AvgPool2d(2, -1), InvalidArgument);
  EXPECT_THROW(AdaptiveAvgPool2d(0), InvalidArgument);
}

TEST(Pooling, BackwardNeedsItsForwardAndTheOutputsShape) {
  Pools pools;
  for (auto [name, pool] : pools.all()) {
    EXPECT_THROW(pool->backward(Tensor::zeros({1, 1, 1, 1})), Error) << name;  // no forward
    const Tensor y = pool->forward(Tensor::zeros({1, 2, 5, 5}));
    EXPECT_NE(error_of([&] {
                pool->backward(Tensor::zeros({1, 2, 7, 7}));
              }).find("[1, 2, 7, 7]"),
              std::string::npos)
        << name;
  }
}

}  // namespace
}  // namespace ddp::nn
