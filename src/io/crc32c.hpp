// CRC-32C (Castagnoli), the checksum of checkpoint files: a table-driven software version.
#pragma once

#include <cstdint>
#include <span>

namespace ddp::io {

// The CRC-32C of bytes; crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes);

}  // namespace ddp::io
