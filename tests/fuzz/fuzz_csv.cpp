// libFuzzer harness for the CSV reader. Input: one byte of options (low nibble: feature count,
// high nibble: class count; 0 lets the file decide), then the file's bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ddp/core/error.hpp"
#include "ddp/data/csv.hpp"
#include "memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static ddp::fuzz::MemoryFile file;
  ddp::data::CsvOptions options;
  options.feature_count = data[0] & 0xF;
  options.class_count = data[0] >> 4;
  file.assign(std::span<const std::uint8_t>(data + 1, size - 1));
  try {
    const ddp::data::TensorDataset dataset = ddp::data::load_csv(file.path(), options);
    // A file that loaded has samples and classes, or it should have been refused.
    if (dataset.size() <= 0 || dataset.class_count() <= 0) __builtin_trap();
  } catch (const ddp::InvalidArgument&) {
    // A malformed file is refused with a message naming the line; anything else is a bug.
  }
  return 0;
}
