#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "ddp/data/batch.hpp"
#include "ddp/data/split.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {
namespace {

std::vector<float> features_of(const Dataset& dataset, std::int64_t index) {
  std::vector<float> x(static_cast<std::size_t>(dataset.feature_count()));
  std::int64_t label = -1;
  dataset.get(index, {x.data(), &label, nullptr});
  return x;
}

std::int64_t label_of(const Dataset& dataset, std::int64_t index) {
  std::vector<float> x(static_cast<std::size_t>(dataset.feature_count()));
  std::int64_t label = -1;
  dataset.get(index, {x.data(), &label, nullptr});
  return label;
}

TEST(TensorDataset, ServesRowsLabelsAndTargets) {
  Tensor features = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  TensorDataset labelled(features, Tensor::from_vector<std::int64_t>({2, 0, 1}, {3}), 4);
  EXPECT_EQ(labelled.size(), 3);
  EXPECT_EQ(labelled.feature_count(), 2);
  EXPECT_EQ(labelled.class_count(), 4);
  EXPECT_EQ(features_of(labelled, 2), (std::vector<float>{5, 6}));
  EXPECT_EQ(label_of(labelled, 0), 2);

  TensorDataset inferred(features, Tensor::from_vector<std::int64_t>({2, 0, 1}, {3}));
  EXPECT_EQ(inferred.class_count(), 3);

  TensorDataset regression(features, Tensor::from_vector<float>({1, 2, 3}, {3}));
  EXPECT_EQ(regression.class_count(), 0);
  EXPECT_EQ(regression.target_width(), 1);
  float x[2], y = 0;
  regression.get(1, {x, nullptr, &y});
  EXPECT_EQ(y, 2.0f);

  EXPECT_THROW(TensorDataset(features, Tensor::from_vector<std::int64_t>({0, 4, 1}, {3}), 4),
               InvalidArgument);
  EXPECT_THROW(TensorDataset(features, Tensor::from_vector<std::int64_t>({0, 1}, {2})),
               InvalidArgument);
  EXPECT_THROW(TensorDataset(Tensor::from_vector<float>({1, 2}, {2})), InvalidArgument);
}

TEST(RandomDataset, IsTheTutorialsStandardNormalData) {
  RandomDataset a(5, 100, 42), b(5, 100, 42), c(5, 100, 43);
  EXPECT_EQ(a.size(), 100);
  EXPECT_EQ(a.feature_count(), 5);
  EXPECT_EQ(a.class_count(), 0);
  EXPECT_EQ(a.features().to_vector<float>(), b.features().to_vector<float>());
  EXPECT_NE(a.features().to_vector<float>(), c.features().to_vector<float>());
  const std::vector<float> values = a.features().to_vector<float>();
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  EXPECT_NEAR(mean, 0.0, 0.15);
}

TEST(SyntheticClassification, EverySampleDependsOnlyOnSeedAndIndex) {
  SyntheticClassification a(1000, 12, 5, 7), b(1000, 12, 5, 7), other(1000, 12, 5, 8);
  // Read in opposite orders, as different ranks would.
  const std::vector<std::int64_t> order{999, 0, 500, 3};
  std::vector<std::vector<float>> forward, backward(order.size());
  for (std::int64_t i : order) forward.push_back(features_of(a, i));
  for (std::size_t j = order.size(); j-- > 0;) backward[j] = features_of(b, order[j]);
  EXPECT_EQ(forward, backward);
  for (std::int64_t i : order) {
    EXPECT_EQ(label_of(a, i), label_of(b, i));
    EXPECT_NE(features_of(a, i), features_of(other, i));
  }
  EXPECT_NE(features_of(a, 1), features_of(a, 2));
}

TEST(SyntheticClassification, LabelsComeFromTheTeacherAndCoverTheClasses) {
  const std::int64_t classes = 10, n = 3000;
  SyntheticClassification dataset(n, 32, classes, 1);
  std::vector<int> counts(classes, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<float> x = features_of(dataset, i);
    const std::int64_t label = label_of(dataset, i);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, classes);
    EXPECT_EQ(label, dataset.teacher_label(x.data()));
    ++counts[static_cast<std::size_t>(label)];
  }
  // Calibrated logits keep the classes balanced: each within 40% of its fair share.
  for (int count : counts) {
    EXPECT_GT(count, 0.6 * n / classes);
    EXPECT_LT(count, 1.4 * n / classes);
  }
}

TEST(SyntheticClassification, RefusesDegenerateShapes) {
  EXPECT_THROW(SyntheticClassification(10, 0, 2, 1), InvalidArgument);
  EXPECT_THROW(SyntheticClassification(10, 4, 1, 1), InvalidArgument);
  EXPECT_THROW(SyntheticClassification(10, 4, 2, 1, 0.99f), InvalidArgument);
}

TEST(SplitTrainVal, HoldsOutADeterministicDisjointFraction) {
  auto base = std::make_shared<const RandomDataset>(3, 1000, 1);
  const TrainValSplit split = split_train_val(base, 0.1, 9);
  EXPECT_EQ(split.val->size(), 100);
  EXPECT_EQ(split.train->size(), 900);
  EXPECT_EQ(split.train->feature_count(), 3);
  std::vector<std::int64_t> all = split.train->indices();
  all.insert(all.end(), split.val->indices().begin(), split.val->indices().end());
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(all, iota);
  EXPECT_TRUE(std::is_sorted(split.val->indices().begin(), split.val->indices().end()));
  // The same on every rank; another seed holds out other samples.
  EXPECT_EQ(split_train_val(base, 0.1, 9).val->indices(), split.val->indices());
  EXPECT_NE(split_train_val(base, 0.1, 10).val->indices(), split.val->indices());
  // A subset serves its base's samples.
  const std::int64_t first_val = split.val->indices()[0];
  EXPECT_EQ(features_of(*split.val, 0), features_of(*base, first_val));

  const TrainValSplit none = split_train_val(base, 0.0, 9);
  EXPECT_EQ(none.val->size(), 0);
  EXPECT_EQ(none.train->size(), 1000);
  EXPECT_EQ(split_train_val(base, 0.29, 9).val->size(), 290);
  EXPECT_THROW(split_train_val(base, 1.0, 9), InvalidArgument);
  EXPECT_THROW(split_train_val(base, -0.1, 9), InvalidArgument);
}

TEST(Collate, BuildsContiguousFeaturesAndLabelsIncludingEmptySlices) {
  Tensor features = Tensor::from_vector<float>({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2});
  TensorDataset dataset(features, Tensor::from_vector<std::int64_t>({0, 1, 2, 3}, {4}));
  const Batch batch =
      collate(dataset, {.epoch = 2, .batch_index = 5, .global_n = 9, .indices = {3, 1}});
  EXPECT_EQ(batch.features.shape(), (Shape{2, 2}));
  EXPECT_EQ(batch.features.to_vector<float>(), (std::vector<float>{30, 31, 10, 11}));
  EXPECT_EQ(batch.labels.dtype(), DType::int64);
  EXPECT_EQ(batch.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 1}));
  EXPECT_FALSE(batch.targets.defined());
  EXPECT_EQ(batch.local_n, 2);
  EXPECT_EQ(batch.global_n, 9);
  EXPECT_EQ(batch.epoch, 2);
  EXPECT_EQ(batch.batch_index, 5);
  EXPECT_EQ(batch.sample_indices, (std::vector<std::int64_t>{3, 1}));

  const Batch empty =
      collate(dataset, {.epoch = 0, .batch_index = 0, .global_n = 3, .indices = {}});
  EXPECT_EQ(empty.features.shape(), (Shape{0, 2}));
  EXPECT_EQ(empty.labels.shape(), (Shape{0}));
  EXPECT_EQ(empty.local_n, 0);
  EXPECT_EQ(empty.global_n, 3);

  TensorDataset regression(features, Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2}));
  const Batch targets =
      collate(regression, {.epoch = 0, .batch_index = 0, .global_n = 1, .indices = {2}});
  EXPECT_FALSE(targets.labels.defined());
  EXPECT_EQ(targets.targets.to_vector<float>(), (std::vector<float>{4, 5}));
  EXPECT_THROW(collate(dataset, {.epoch = 0, .batch_index = 0, .global_n = 1, .indices = {4}}),
               Error);
}

TEST(Collate, BatchesOfImagesKeepTheSampleShape) {
  // Two images of 1 x 2 x 3 pixels, numbered so that a row-major copy is visible.
  std::vector<float> pixels(12);
  std::iota(pixels.begin(), pixels.end(), 0.0f);
  auto images = std::make_shared<TensorDataset>(Tensor::from_vector(pixels, {2, 1, 2, 3}),
                                                Tensor::from_vector<std::int64_t>({4, 7}, {2}));
  EXPECT_EQ(images->sample_shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(images->feature_count(), 6);
  EXPECT_EQ(features_of(*images, 1), (std::vector<float>{6, 7, 8, 9, 10, 11}));

  const Batch batch =
      collate(*images, {.epoch = 0, .batch_index = 0, .global_n = 2, .indices = {1, 0}});
  EXPECT_EQ(batch.features.shape(), (Shape{2, 1, 2, 3}));
  EXPECT_EQ(batch.features.to_vector<float>(),
            (std::vector<float>{6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(collate(*images, {.epoch = 0, .batch_index = 0, .global_n = 2, .indices = {}})
                .features.shape(),
            (Shape{0, 1, 2, 3}));

  // A subset (the train/validation split) and a copy into memory keep the shape too.
  const TrainValSplit split = split_train_val(images, 0.5, 1);
  EXPECT_EQ(split.train->sample_shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(load_into_memory(*split.val).features().shape(), (Shape{1, 1, 2, 3}));
  // Flat datasets stay flat.
  EXPECT_EQ(SyntheticClassification(4, 5, 3, 0).sample_shape(), (Shape{5}));
}

}  // namespace
}  // namespace ddp::data
