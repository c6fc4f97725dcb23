// libFuzzer harness for the IDX (MNIST) reader. Input: one byte (class count - 1), a little-endian
// u16 length of the images file, the images file's bytes, then the labels file's bytes (the
// rest). Lengths past the input are cut to what is there.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ddp/core/error.hpp"
#include "ddp/data/idx.hpp"
#include "memory_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t prefix_bytes = 3;
  if (size < prefix_bytes) return 0;
  static ddp::fuzz::MemoryFile images;
  static ddp::fuzz::MemoryFile labels;
  const std::int64_t class_count = std::int64_t{data[0]} + 1;
  const std::span<const std::uint8_t> files(data + prefix_bytes, size - prefix_bytes);
  const std::size_t images_bytes =
      std::min<std::size_t>(data[1] | std::size_t{data[2]} << 8, files.size());
  images.assign(files.first(images_bytes));
  labels.assign(files.subspan(images_bytes));
  try {
    const ddp::data::TensorDataset dataset =
        ddp::data::load_idx(images.path(), labels.path(), class_count);
    if (dataset.size() <= 0 || dataset.class_count() != class_count) __builtin_trap();
  } catch (const ddp::InvalidArgument&) {
    // A malformed pair of files is refused naming the file and field; anything else is a bug.
  }
  return 0;
}
