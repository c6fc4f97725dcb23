// bfloat16 <-> float32 for one value: the bit-level conversions that the bulk kernels and the MPI
// backend's bf16 sum share, so both round the same way (to nearest, ties to even).
#pragma once

#include <bit>
#include <cstdint>

namespace ddp {

// The upper 16 bits of a float32, rounded to nearest even; NaN stays a (quiet) NaN.
inline std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  // Adding 0x7fff plus the lowest kept bit rounds half-way cases towards the even neighbour.
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

// Exact: every bfloat16 is a float32 with its low 16 mantissa bits zero.
inline float bfloat16_to_float(std::uint16_t value) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16);
}

}  // namespace ddp
