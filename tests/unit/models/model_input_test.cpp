#include "ddp/models/model_input.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::models {
namespace {

TEST(ModelInput, ViewsImagesAsAFlatModelsRowsWithoutACopy) {
  std::vector<float> values(2 * 1 * 3 * 2);
  std::iota(values.begin(), values.end(), 0.0f);
  const Tensor images = Tensor::from_vector(values, {2, 1, 3, 2});
  const Tensor rows = as_model_input(images, {.sample_shape = {6}, .classes = 10});
  EXPECT_EQ(rows.shape(), (Shape{2, 6}));
  EXPECT_EQ(rows.data<float>(), images.data<float>());
  EXPECT_EQ(rows.to_vector<float>(), values);
}

TEST(ModelInput, ViewsFlatRowsAsImages) {
  const Tensor rows = Tensor::zeros({4, 12});
  const Tensor images = as_model_input(rows, {.sample_shape = {3, 2, 2}, .classes = 10});
  EXPECT_EQ(images.shape(), (Shape{4, 3, 2, 2}));
  EXPECT_EQ(images.data<float>(), rows.data<float>());
  // An empty slice of a global batch keeps its 0 rows.
  EXPECT_EQ(as_model_input(Tensor::zeros({0, 12}), {.sample_shape = {1, 3, 4}}).shape(),
            (Shape{0, 1, 3, 4}));
}

TEST(ModelInput, SaysWhenASampleDoesNotFitTheModel) {
  try {
    as_model_input(Tensor::zeros({5, 100}), {.sample_shape = {1, 28, 28}, .classes = 10});
    ADD_FAILURE() << "accepted";
  } catch (const InvalidArgument& error) {
    EXPECT_EQ(std::string(error.what()),
              "a sample of shape [100] (100 values) is not the model's input of shape [1, 28, "
              "28] (784 values)");
  }
}

}  // namespace
}  // namespace ddp::models
