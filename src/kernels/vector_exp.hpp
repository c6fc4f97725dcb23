// exp(x) in float that the compiler can vectorise (private to src/kernels): std::exp is a libm call
// per element, which keeps a loop scalar and costs more than a GEMM's share of the same data.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

namespace ddp::kernels::detail {

// Within 2 ulp of std::exp for x in [-87, 88]; x is clamped to that range first (exp(-87) is near
// float's smallest normal, exp(88) near its largest), so that no input gives a NaN. Cephes' expf:
// x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a degree-7 polynomial, 2^n by the exponent bits.
inline float vector_exp(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // Round x log2(e) to the nearest integer by adding and removing 1.5 * 2^23: no libm call.
  constexpr float kRound = 12582912.0f;
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float exp_r = p * r * r + r + 1.0f;
  const auto exponent = static_cast<std::int32_t>(n) + 127;
  return exp_r * std::bit_cast<float>(static_cast<std::uint32_t>(exponent) << 23);
}

}  // namespace ddp::kernels::detail
