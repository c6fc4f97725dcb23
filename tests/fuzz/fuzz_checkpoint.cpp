// libFuzzer harness for the checkpoint reader: parse_checkpoint on the input as it is, then on a
// copy whose body size and CRC-32C trailer are made to match it, since mutated bytes almost never
// carry them right and the record parser behind them is where sizes are trusted or not.
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
  // The header: magic (8 bytes), u32 version, u64 body size; then the body and a u32 checksum.
  constexpr std::size_t body_size_at = 12, header_bytes = 20;
  constexpr std::size_t checksum_bytes = sizeof(std::uint32_t);
  if (size >= header_bytes + checksum_bytes) {
    std::vector<std::uint8_t> sealed(input.begin(), input.end());
    const std::uint64_t body_bytes = size - header_bytes - checksum_bytes;
    std::memcpy(sealed.data() + body_size_at, &body_bytes, sizeof(body_bytes));
    const std::uint32_t crc =
        ddp::io::crc32c(std::span<const std::uint8_t>(sealed).first(size - checksum_bytes));
    std::memcpy(sealed.data() + size - checksum_bytes, &crc, checksum_bytes);
    parse(sealed);
  }
  return 0;
}
