#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ddp/io/safetensors.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "gradcheck.hpp"

namespace ddp::nn {
namespace {

using testing::expect_module_gradients;
using testing::random_tensor;

// One replica: the sum over replicas is the tensor itself. Records the shape of every call.
class RecordingSum : public CrossReplicaSum {
 public:
  void sum_(Tensor& values) override { calls.push_back(values.shape()); }
  std::vector<Shape> calls;
};

void fill(Tensor& t, const std::vector<float>& values) {
  t.copy_(Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())}));
}

std::vector<float> floats(const Tensor& t) {
  return t.to_vector<float>();
}

std::int64_t batches_tracked(BatchNorm& layer) {
  return layer.buffers()[2]->value.to_vector<std::int64_t>()[0];
}

TEST(BatchNorm, StateDictHasPyTorchsNamesShapesAndInitialValues) {
  BatchNorm2d layer(3);
  const std::vector<NamedTensor> state = layer.state_dict();
  ASSERT_EQ(state.size(), 5u);
  const std::vector<std::string> names = {"weight", "bias", "running_mean", "running_var",
                                          "num_batches_tracked"};
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(state[i].name, names[i]);
  EXPECT_EQ(floats(state[0].tensor), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(floats(state[1].tensor), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(floats(state[2].tensor), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(floats(state[3].tensor), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(state[4].tensor.dtype(), DType::int64);
  EXPECT_EQ(state[4].tensor.ndim(), 0u);  // 0-d, as PyTorch saves it
  EXPECT_EQ(layer.parameters().size(), 2u);
  // A weights file keeps the 0-d counter.
  const io::SafetensorsContents back =
      io::parse_safetensors(io::serialize_safetensors(state), "memory");
  ASSERT_EQ(back.tensors.size(), 5u);
  EXPECT_EQ(back.tensors[4].tensor.shape(), Shape{});
  EXPECT_EQ(back.tensors[4].tensor.dtype(), DType::int64);
}

TEST(BatchNorm, TrainingNormalisesByBatchStatisticsAndUpdatesRunningOnes) {
  BatchNorm1d layer(2, {1e-5, 0.25});
  // Channel 0: 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); channel 1: all 5 (var 0).
  const Tensor x = Tensor::from_vector<float>({1, 5, 2, 5, 3, 5, 6, 5}, {4, 2});
  const std::vector<float> y = floats(layer.forward(x));
  const double invstd = 1.0 / std::sqrt(3.5 + 1e-5);
  const std::vector<double> expected = {-2 * invstd, 0, -invstd, 0, 0, 0, 3 * invstd, 0};
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expected[i], 1e-6) << i;
  EXPECT_NEAR(floats(layer.buffers()[0]->value)[0], 0.25 * 3, 1e-6);
  EXPECT_NEAR(floats(layer.buffers()[0]->value)[1], 0.25 * 5, 1e-6);
  EXPECT_NEAR(floats(layer.buffers()[1]->value)[0], 0.75 + 0.25 * 14.0 / 3.0, 1e-6);
  EXPECT_NEAR(floats(layer.buffers()[1]->value)[1], 0.75, 1e-6);
  EXPECT_EQ(batches_tracked(layer), 1);
}

TEST(BatchNorm, GradientsMatchFiniteDifferencesInTrainingAndEval) {
  Generator generator(3);
  BatchNorm2d layer(3);
  fill(layer.weight().value, {0.5f, -1.5f, 2.0f});
  fill(layer.bias().value, {0.1f, 0.2f, -0.3f});
  expect_module_gradients(layer, random_tensor({4, 3, 2, 3}, generator, -2.0f, 3.0f));
  BatchNorm1d sequence(2);
  expect_module_gradients(sequence, random_tensor({3, 2, 4}, generator));
  layer.eval();
  expect_module_gradients(layer, random_tensor({2, 3, 2, 2}, generator));
}

TEST(BatchNorm, EvalUsesRunningStatisticsAndLeavesThem) {
  BatchNorm1d layer(2, {0.5, 0.1});
  fill(layer.weight().value, {2.0f, 1.0f});
  fill(layer.bias().value, {1.0f, -1.0f});
  fill(layer.buffers()[0]->value, {1.0f, -2.0f});
  fill(layer.buffers()[1]->value, {3.5f, 0.5f});
  layer.eval();
  // One sample: fine in eval mode, where no statistics are taken from the batch.
  const std::vector<float> y = floats(layer.forward(Tensor::from_vector<float>({3, 0}, {1, 2})));
  EXPECT_NEAR(y[0], (3 - 1) / std::sqrt(3.5 + 0.5) * 2 + 1, 1e-6);
  EXPECT_NEAR(y[1], (0 + 2) / std::sqrt(0.5 + 0.5) - 1, 1e-6);
  EXPECT_EQ(floats(layer.buffers()[0]->value), (std::vector<float>{1, -2}));
  EXPECT_EQ(floats(layer.buffers()[1]->value), (std::vector<float>{3.5f, 0.5f}));
  EXPECT_EQ(batches_tracked(layer), 0);
  const std::vector<float> dx = floats(layer.backward(Tensor::from_vector<float>({1, 1}, {1, 2})));
  EXPECT_NEAR(dx[0], 2 / std::sqrt(4.0), 1e-6);
  EXPECT_NEAR(dx[1], 1 / std::sqrt(1.0), 1e-6);
}

TEST(BatchNorm, OneValuePerChannelInTrainingIsAnError) {
  BatchNorm1d features(3);
  try {
    features.forward(Tensor::zeros({1, 3}));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(
        std::string(error.what()).find("Expected more than 1 value per channel when training"),
        std::string::npos)
        << error.what();
  }
  BatchNorm2d images(2);
  EXPECT_THROW(images.forward(Tensor::zeros({1, 2, 1, 1})), Error);
  EXPECT_NO_THROW(images.forward(Tensor::zeros({1, 2, 1, 2})));      // two values per channel
  EXPECT_THROW(images.forward(Tensor::zeros({2, 3, 1, 1})), Error);  // 3 channels, not 2
  EXPECT_THROW(images.forward(Tensor::zeros({2, 2})), Error);        // BatchNorm2d takes 4-D
}

TEST(BatchNorm, EmptyBatchGivesEmptyOutputZeroGradientsAndKeepsRunningStatistics) {
  BatchNorm2d layer(2);
  fill(layer.buffers()[0]->value, {0.5f, -0.5f});
  const Tensor y = layer.forward(Tensor::zeros({0, 2, 3, 3}));
  EXPECT_EQ(y.shape(), (Shape{0, 2, 3, 3}));
  EXPECT_EQ(floats(layer.buffers()[0]->value), (std::vector<float>{0.5f, -0.5f}));
  EXPECT_EQ(floats(layer.buffers()[1]->value), (std::vector<float>{1, 1}));
  EXPECT_EQ(batches_tracked(layer), 1);  // PyTorch counts the call
  layer.zero_grad();
  const Tensor dx = layer.backward(Tensor::zeros({0, 2, 3, 3}));
  EXPECT_EQ(dx.shape(), (Shape{0, 2, 3, 3}));
  EXPECT_TRUE(layer.weight().has_grad);
  EXPECT_EQ(floats(layer.weight().grad), (std::vector<float>{0, 0}));
  EXPECT_EQ(floats(layer.bias().grad), (std::vector<float>{0, 0}));
}

TEST(BatchNorm, SynchronizedSumsStatisticsInForwardAndGradientSumsInBackwardOnly) {
  Generator generator(4);
  BatchNorm2d plain(3);
  BatchNorm2d synced(3);
  auto sum = std::make_shared<RecordingSum>();
  synced.set_cross_replica_sum(sum);
  EXPECT_TRUE(synced.synchronized());
  const Tensor x = random_tensor({2, 3, 2, 2}, generator);
  const Tensor dy = random_tensor({2, 3, 2, 2}, generator);
  // One replica: the same results as the plain layer.
  EXPECT_EQ(floats(synced.forward(x)), floats(plain.forward(x)));
  EXPECT_EQ(floats(synced.backward(dy)), floats(plain.backward(dy)));
  EXPECT_EQ(floats(synced.weight().grad), floats(plain.weight().grad));
  EXPECT_EQ(sum->calls, (std::vector<Shape>{{3, 3}, {2, 3}}));
  // No input gradient needed: nothing to sum in backward.
  synced.set_input_grad_needed(false);
  synced.forward(x);
  synced.backward(dy);
  EXPECT_EQ(sum->calls.size(), 3u);
  synced.eval();  // running statistics: no communication
  synced.set_input_grad_needed(true);
  synced.forward(x);
  synced.backward(dy);
  EXPECT_EQ(sum->calls.size(), 3u);
}

}  // namespace
}  // namespace ddp::nn
