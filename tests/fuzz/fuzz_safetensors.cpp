// libFuzzer harness for the safetensors reader: parse_safetensors on the input as it is, then on
// a copy whose 8-byte header length is made to match a plausible split (the whole input after it,
// and the input up to its last '}'), since mutated bytes rarely carry a length that lands the
// JSON parser on the header and the offset checks on the data.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ddp/io/safetensors.hpp"

namespace {

// What parsed must serialize and parse back to the same names, dtypes, shapes, data and
// metadata; any error there is a bug, so it is not caught.
void check_round_trip(const ddp::io::SafetensorsContents& parsed) {
  const std::vector<std::uint8_t> bytes =
      ddp::io::serialize_safetensors(parsed.tensors, parsed.metadata);
  const ddp::io::SafetensorsContents again = ddp::io::parse_safetensors(bytes, "round trip");
  if (again.metadata != parsed.metadata || again.tensors.size() != parsed.tensors.size()) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < parsed.tensors.size(); ++i) {
    const ddp::Tensor& a = parsed.tensors[i].tensor;
    const ddp::Tensor& b = again.tensors[i].tensor;
    if (again.tensors[i].name != parsed.tensors[i].name || a.dtype() != b.dtype() ||
        a.shape() != b.shape() || a.nbytes() != b.nbytes() ||
        (a.nbytes() > 0 && std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) != 0)) {
      __builtin_trap();
    }
  }
}

void parse(std::span<const std::uint8_t> bytes) {
  ddp::io::SafetensorsContents parsed;
  try {
    parsed = ddp::io::parse_safetensors(bytes, "fuzz.safetensors");
  } catch (const ddp::io::SafetensorsError&) {
    // Refusing hostile bytes with a SafetensorsError is the reader's job; anything else is a bug.
    return;
  }
  check_round_trip(parsed);
}

// input with its first 8 bytes replaced by header_bytes, little-endian.
void parse_with_length(std::span<const std::uint8_t> input, std::uint64_t header_bytes) {
  std::vector<std::uint8_t> sealed(input.begin(), input.end());
  std::memcpy(sealed.data(), &header_bytes, sizeof(header_bytes));
  parse(sealed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  parse(input);
  constexpr std::size_t length_bytes = sizeof(std::uint64_t);
  if (size >= length_bytes) {
    // The header runs to the end of the input (no data), or to its last '}' (data after it).
    parse_with_length(input, size - length_bytes);
    for (std::size_t end = size; end > length_bytes; --end) {
      if (data[end - 1] == '}') {
        if (end != size) parse_with_length(input, end - length_bytes);
        break;
      }
    }
  }
  return 0;
}
