// Element types a tensor or a collective can hold, and their sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ddp {

enum class DType : std::uint8_t { float32, float64, int32, int64, bfloat16, float16 };

std::size_t dtype_size(DType dtype);
std::string to_string(DType dtype);
bool is_floating(DType dtype);

// The DType of a C++ element type, for typed access: dtype_of<float>() == DType::float32.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::float64;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::int32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::int64;
}

}  // namespace ddp
