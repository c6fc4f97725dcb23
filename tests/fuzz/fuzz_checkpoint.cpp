// libFuzzer harness for the checkpoint reader: parse_checkpoint on the input as it is, then on a
// copy whose CRC-32C trailer is recomputed, since random bytes almost never carry a valid checksum
// and the record parser behind it is where sizes are trusted or not.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "crc32c.hpp"
#include "ddp/core/error.hpp"
#include "ddp/io/checkpoint.hpp"

namespace {

// A checkpoint that parsed must serialize and parse back to the same counts and positions.
void check_round_trip(const ddp::io::Checkpoint& parsed) {
  const std::vector<std::uint8_t> bytes = ddp::io::serialize(parsed);
  const ddp::io::Checkpoint again = ddp::io::parse_checkpoint(bytes, "round trip");
  if (again.step != parsed.step || again.epoch != parsed.epoch ||
      again.next_batch != parsed.next_batch || again.metadata != parsed.metadata ||
      again.model.size() != parsed.model.size() ||
      again.optimizer.size() != parsed.optimizer.size() ||
      again.extra.size() != parsed.extra.size()) {
    __builtin_trap();
  }
}

void parse(std::span<const std::uint8_t> bytes) {
  try {
    check_round_trip(ddp::io::parse_checkpoint(bytes, "fuzz.ddpckpt"));
  } catch (const ddp::io::CheckpointError&) {
    // Refusing hostile bytes with a CheckpointError is the reader's job; anything else is a bug.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  parse(input);
  constexpr std::size_t checksum_bytes = sizeof(std::uint32_t);
  if (size >= checksum_bytes) {
    std::vector<std::uint8_t> sealed(input.begin(), input.end());
    const std::uint32_t crc =
        ddp::io::crc32c(std::span<const std::uint8_t>(sealed).first(size - checksum_bytes));
    std::memcpy(sealed.data() + size - checksum_bytes, &crc, checksum_bytes);
    parse(sealed);
  }
  return 0;
}
