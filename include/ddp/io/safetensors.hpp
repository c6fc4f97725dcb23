// safetensors: the weight file format of the PyTorch and Hugging Face ecosystem, read and written
// without any library. Layout: an 8-byte little-endian header length N; N bytes of UTF-8 JSON
//   {"NAME": {"dtype": "F32", "shape": [3, 4], "data_offsets": [BEGIN, END]}, ...,
//    "__metadata__": {"KEY": "VALUE", ...}}          (the metadata object is optional)
// padded with spaces to a multiple of 8; then the data: every tensor's bytes, row-major and
// little-endian, at [BEGIN, END) counted from the first byte after the header, packed without
// gaps or overlaps. dtypes known here: F32, F64, I32, I64, BF16, F16 (ddp's DTypes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/core/named_tensor.hpp"

namespace ddp::io {

// A safetensors file that cannot be written, or read as one (unreadable, truncated, malformed
// JSON, an unknown dtype, offsets that disagree with the shape or the file's size). The message
// starts with the file's path and names the tensor at fault when one is.
class SafetensorsError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

struct SafetensorsContents {
  std::vector<NamedTensor> tensors;  // CPU tensors, in the order of their data in the file
  std::map<std::string, std::string> metadata;  // "__metadata__", string values only
};

// The whole file's bytes for tensors (on any device: GPU tensors are copied to the host) under
// their names, in the order given, with metadata as "__metadata__" (first; omitted when empty).
// The header is compact JSON as the reference writes it, padded with spaces. Names must be unique
// and non-empty, and "__metadata__" is not a tensor name: a SafetensorsError otherwise, as for
// names or metadata that are not UTF-8 and undefined tensors.
std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<NamedTensor>& tensors,
    const std::map<std::string, std::string>& metadata = {});

// Parses a whole file's bytes; origin (the file's path) starts every error message. Checks the
// header length against the bytes (and the reference's limit of 100,000,000), the JSON (strict:
// UTF-8, no duplicate keys, no fields beyond dtype, shape and data_offsets, numbers that are
// non-negative integers), every entry's dtype, shape and offsets, and that the offsets tile the
// data exactly to the end of the file, before allocating any tensor: hostile bytes give a
// SafetensorsError, never a crash. The fuzzing entry.
SafetensorsContents parse_safetensors(std::span<const std::uint8_t> bytes,
                                      const std::string& origin);

// serialize_safetensors into file, written to file.tmp.<pid> first and renamed over it, so that
// a crash mid-write leaves what was there whole; a SafetensorsError naming the path and the
// system's reason when it cannot be written.
void write_safetensors(const std::filesystem::path& file, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// parse_safetensors of the file's bytes; a SafetensorsError also when it cannot be read.
SafetensorsContents read_safetensors(const std::filesystem::path& file);

}  // namespace ddp::io
