#include "ddp/core/tensor.hpp"

#include <gtest/gtest.h>

namespace ddp {
namespace {

TEST(Tensor, ShapeAndSizes) {
  Tensor t = Tensor::zeros({3, 4});
  EXPECT_EQ(t.numel(), 12);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_EQ(t.ndim(), 2u);
  EXPECT_EQ(to_string(t.shape()), "[3, 4]");
  EXPECT_EQ(t.dtype(), DType::float32);
  for (float v : t.to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor middle = t.rows(1, 2);
  EXPECT_EQ(to_string(middle.shape()), "[1, 2]");
  middle.data<float>()[0] = 42;
  EXPECT_EQ(t.data<float>()[2], 42);
  EXPECT_TRUE(middle.shares_storage_with(t));
  Tensor flat = t.view(4, {2});
  EXPECT_EQ(flat.to_vector<float>(), (std::vector<float>{4, 5}));
}

TEST(Tensor, CloneIsIndependent) {
  Tensor t = Tensor::from_vector<std::int64_t>({7, 8}, {2});
  Tensor copy = t.clone();
  copy.data<std::int64_t>()[0] = 1;
  EXPECT_EQ(t.data<std::int64_t>()[0], 7);
  EXPECT_FALSE(copy.shares_storage_with(t));
}

TEST(Tensor, EmptyTensorsHaveNoData) {
  Tensor t = Tensor::empty({0, 5});
  EXPECT_EQ(t.numel(), 0);
  EXPECT_EQ(t.rows(0, 0).numel(), 0);
}

TEST(Tensor, PinnedTensorsAreHostTensors) {
  // Page-locked where a GPU is usable, plain host memory elsewhere: a CPU tensor either way.
  Tensor pinned = Tensor::empty_pinned({3, 2}, DType::int64);
  EXPECT_TRUE(pinned.device().is_cpu());
  for (std::int64_t i = 0; i < 6; ++i) pinned.data<std::int64_t>()[i] = i;
  EXPECT_EQ(pinned.clone().to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(Tensor::empty_pinned({0}).numel(), 0);
}

TEST(Tensor, ExternalMemoryLivesWhileAnyViewDoes) {
  auto memory = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  std::weak_ptr<std::vector<float>> watch = memory;
  Tensor view;
  {
    Tensor whole = Tensor::from_external(memory->data(), {4}, DType::float32, memory);
    memory.reset();
    view = whole.view(2, {2});
  }
  ASSERT_FALSE(watch.expired()) << "the owner went while a view still used its memory";
  EXPECT_EQ(view.to_vector<float>(), (std::vector<float>{3, 4}));
  view = Tensor();
  EXPECT_TRUE(watch.expired()) << "the owner outlived the last tensor";
  EXPECT_THROW(Tensor::from_external(nullptr, {2}, DType::float32, nullptr), Error);
}

TEST(Tensor, MisuseIsAnError) {
  Tensor t = Tensor::zeros({2, 2});
  EXPECT_THROW(t.view(3, {2}), Error);
  EXPECT_THROW(t.rows(1, 3), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(t.copy_(Tensor::zeros({3})), Error);
  // A CUDA tensor is an error only without a GPU: NoGpu.CudaTensorIsAClearError pins that case.
}

}  // namespace
}  // namespace ddp
