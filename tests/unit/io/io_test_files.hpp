// What the tests of the file formats (checkpoints, safetensors) share: a scratch folder per test,
// raw file bytes, tensors of every dtype with known contents, and a byte-exact comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ddp/core/named_tensor.hpp"
#include "temp_dir.hpp"

namespace ddp::io::testing {

namespace fs = std::filesystem;

// The io tests' folders are named ddp_io_<test>_<pid>.
class TempDir : public ddp::testing::TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ddp_io_") : ddp::testing::TempDir(prefix) {}
};

inline std::vector<std::uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// first, first + 1, ... in the tensor's element type.
template <typename T>
Tensor filled(Shape shape, T first) {
  Tensor tensor = Tensor::empty(std::move(shape), dtype_of<T>());
  for (std::int64_t i = 0; i < tensor.numel(); ++i) tensor.data<T>()[i] = first + static_cast<T>(i);
  return tensor;
}

// A tensor of a 16-bit type with distinct raw bit patterns (the formats copy bytes as they are).
inline Tensor half_tensor(DType dtype, Shape shape) {
  Tensor tensor = Tensor::empty(std::move(shape), dtype);
  auto* raw = static_cast<std::uint16_t*>(tensor.data_ptr());
  for (std::int64_t i = 0; i < tensor.numel(); ++i) raw[i] = static_cast<std::uint16_t>(0x3C00 + i);
  return tensor;
}

// Names, dtypes, shapes and bytes equal, in order.
inline void expect_same_tensors(const std::vector<NamedTensor>& expected,
                                const std::vector<NamedTensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(expected[i].name, actual[i].name);
    EXPECT_EQ(expected[i].tensor.dtype(), actual[i].tensor.dtype());
    EXPECT_EQ(expected[i].tensor.shape(), actual[i].tensor.shape());
    ASSERT_EQ(expected[i].tensor.nbytes(), actual[i].tensor.nbytes());
    if (expected[i].tensor.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(expected[i].tensor.data_ptr(), actual[i].tensor.data_ptr(),
                            expected[i].tensor.nbytes()),
                0);
    }
  }
}

}  // namespace ddp::io::testing
