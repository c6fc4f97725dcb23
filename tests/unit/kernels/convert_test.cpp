// float32 <-> bfloat16: round to nearest even, one value and whole tensors.
#include <gtest/gtest.h>

#include <cmath>

#include "ddp/core/bfloat16.hpp"
#include "ddp/kernels/convert.hpp"

namespace ddp::kernels {
namespace {

TEST(Bfloat16, RoundsToNearestEven) {
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f)), 1.0f);
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(-3.5f)), -3.5f);
  // 1 + 2^-8 lies half-way between 1 and 1 + 2^-7: the tie goes to the even mantissa, 1.
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f + 0x1p-8f)), 1.0f);
  // 1 + 3 * 2^-8 lies half-way between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(1.0f + 0x1p-8f + 0x1p-20f)), 1.0f + 0x1p-7f);
  EXPECT_TRUE(std::isinf(bfloat16_to_float(float_to_bfloat16(INFINITY))));
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(std::nanf("")))));
}

TEST(Bfloat16, TensorsRoundTrip) {
  Tensor x = Tensor::from_vector<float>({0.0f, 1.0f, 1.0f + 0x1p-8f, -2.25f, 1e-3f}, {5});
  Tensor half = Tensor::empty({5}, DType::bfloat16);
  to_bfloat16(x, half);
  Tensor back = Tensor::empty({5});
  from_bfloat16(half, back);
  const std::vector<float> values = back.to_vector<float>();
  EXPECT_EQ(values[0], 0.0f);
  EXPECT_EQ(values[1], 1.0f);
  EXPECT_EQ(values[2], 1.0f);
  EXPECT_EQ(values[3], -2.25f);
  EXPECT_NEAR(values[4], 1e-3f, 1e-3f * 0x1p-8f);
  EXPECT_THROW(to_bfloat16(back, x), Error);  // float32 into float32: not a conversion
}

}  // namespace
}  // namespace ddp::kernels
