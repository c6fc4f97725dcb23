#include "ddp/data/normalize.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::data {
namespace {

TEST(Normalize, StandardisesEveryFeatureAndKeepsShapeAndLabels) {
  const std::vector<float> pixels{0.0f, 0.25f, 0.5f, 1.0f, 0.75f, 0.125f, 0.0f, 1.0f};
  TensorDataset images(Tensor::from_vector(pixels, {2, 1, 2, 2}),
                       Tensor::from_vector<std::int64_t>({3, 1}, {2}), 10);
  const TensorDataset normalized = normalize(images, {.mean = 0.5, .std = 0.25});
  EXPECT_EQ(normalized.sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(normalized.class_count(), 10);
  EXPECT_EQ(normalized.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 1}));
  // By hand: (x - 0.5) / 0.25, exact in binary.
  EXPECT_EQ(normalized.features().to_vector<float>(),
            (std::vector<float>{-2.0f, -1.0f, 0.0f, 2.0f, 1.0f, -1.5f, -2.0f, 2.0f}));
  // The input is left as it was.
  EXPECT_EQ(images.features().to_vector<float>(), pixels);
}

TEST(Normalize, RefusesAStdThatIsNotPositive) {
  TensorDataset flat(Tensor::from_vector<float>({1, 2}, {2, 1}));
  EXPECT_THROW(normalize(flat, {.mean = 0, .std = 0}), InvalidArgument);
  EXPECT_THROW(normalize(flat, {.mean = 0, .std = -1}), InvalidArgument);
}

}  // namespace
}  // namespace ddp::data
