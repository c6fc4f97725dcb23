// The safetensors format (serialize, parse) and its files, as the Rust reference implementation
// (github.com/huggingface/safetensors) reads and writes them.
#include "ddp/io/safetensors.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include "json.hpp"
#include "shown_name.hpp"
#include "whole_file.hpp"

namespace ddp::io {
namespace {

// The format is little-endian; on such a host lengths and tensor data are copied as they are.
static_assert(std::endian::native == std::endian::little,
              "safetensors files are little-endian; a big-endian host needs byte swaps here");

constexpr std::size_t length_bytes = sizeof(std::uint64_t);
// The reference refuses longer headers (MAX_HEADER_SIZE), and so does this reader.
constexpr std::uint64_t max_header_bytes = 100'000'000;
// The header is padded with spaces so that the data starts at a multiple of this.
constexpr std::size_t alignment = 8;
constexpr std::string_view metadata_key = "__metadata__";

struct DTypeName {
  std::string_view name;
  DType dtype;
};
// The format's names of the dtypes ddp holds; BOOL, U8, I8, F8_E4M3 and the others are refused.
constexpr std::array<DTypeName, 6> dtype_names = {{{"F32", DType::float32},
                                                   {"F64", DType::float64},
                                                   {"I32", DType::int32},
                                                   {"I64", DType::int64},
                                                   {"BF16", DType::bfloat16},
                                                   {"F16", DType::float16}}};
constexpr std::string_view supported_dtypes = "F32, F64, I32, I64, BF16, F16";

std::string_view dtype_name(DType dtype) {
  for (const DTypeName& entry : dtype_names) {
    if (entry.dtype == dtype) return entry.name;
  }
  DDP_THROW(Error, "dtype " << to_string(dtype) << " has no safetensors name");
}

std::optional<DType> dtype_named(std::string_view name) {
  for (const DTypeName& entry : dtype_names) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

// "<origin>: <message>" as a SafetensorsError.
#define DDP_SAFETENSORS_FAIL(origin, message_stream) \
  DDP_THROW(SafetensorsError, (origin) << ": " << message_stream)

// One tensor's entry in the header, checked against itself and the data's size.
struct Entry {
  std::string name;
  DType dtype = DType::float32;
  Shape shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

void read_metadata(JsonReader& json, std::map<std::string, std::string>& metadata,
                   const std::string& origin) {
  const std::string what = std::string(metadata_key);
  json.begin_object(what);
  std::string key;
  while (json.next_member(key, what)) {
    const std::size_t key_offset = json.key_offset();
    std::string value = json.string(what + " " + shown_name(key));
    if (!metadata.emplace(key, std::move(value)).second) {
      DDP_SAFETENSORS_FAIL(origin, what << " has key " << shown_name(key)
                                        << " twice (again at byte " << key_offset << ")");
    }
  }
}

// The members of a tensor's entry, as they are in the header, then checked: the dtype known,
// the shape's element count and bytes within 64 bits, the offsets holding exactly those bytes
// inside the data_bytes after the header.
Entry read_entry(JsonReader& json, std::string name, std::uint64_t data_bytes,
                 const std::string& origin) {
  const std::string what = "tensor " + shown_name(name);
  std::optional<std::string> dtype_text;
  std::optional<Shape> shape;
  std::optional<std::vector<std::uint64_t>> offsets;
  json.begin_object(what);
  std::string field;
  while (json.next_member(field, what)) {
    const std::size_t field_offset = json.key_offset();
    const bool seen = field == "dtype"          ? dtype_text.has_value()
                      : field == "shape"        ? shape.has_value()
                      : field == "data_offsets" ? offsets.has_value()
                                                : false;
    if (seen) {
      DDP_SAFETENSORS_FAIL(
          origin, what << " has " << field << " twice (again at byte " << field_offset << ")");
    }
    if (field == "dtype") {
      dtype_text = json.string(what + " dtype");
    } else if (field == "shape") {
      const std::string shape_what = what + " shape";
      shape.emplace();
      json.begin_array(shape_what);
      while (json.next_element(shape_what)) {
        const std::uint64_t extent = json.uint64(shape_what);
        if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          DDP_SAFETENSORS_FAIL(origin,
                               shape_what << ": extent " << extent << " does not fit in int64");
        }
        shape->push_back(static_cast<std::int64_t>(extent));
      }
    } else if (field == "data_offsets") {
      const std::string offsets_what = what + " data_offsets";
      offsets.emplace();
      json.begin_array(offsets_what);
      while (json.next_element(offsets_what)) {
        if (offsets->size() == 2) {
          DDP_SAFETENSORS_FAIL(origin, offsets_what << " has more than 2 numbers; it is [begin, "
                                                       "end]");
        }
        offsets->push_back(json.uint64(offsets_what));
      }
    } else {
      DDP_SAFETENSORS_FAIL(origin, what << " has unknown field " << shown_name(field) << " at byte "
                                        << field_offset
                                        << "; an entry has dtype, shape and data_offsets");
    }
  }
  for (const auto& [missing, name_of] :
       {std::pair{!dtype_text, "dtype"}, {!shape, "shape"}, {!offsets, "data_offsets"}}) {
    if (missing) {
      DDP_SAFETENSORS_FAIL(
          origin, what << " has no " << name_of << "; an entry has dtype, shape and data_offsets");
    }
  }
  if (offsets->size() != 2) {
    DDP_SAFETENSORS_FAIL(
        origin, what << " data_offsets has " << offsets->size() << " numbers; it is [begin, end]");
  }

  Entry entry;
  const std::optional<DType> dtype = dtype_named(*dtype_text);
  if (!dtype) {
    DDP_SAFETENSORS_FAIL(origin, what << " has dtype " << shown_name(*dtype_text)
                                      << ", which ddp does not hold; supported: "
                                      << supported_dtypes << " (convert it to one of them)");
  }
  entry.dtype = *dtype;
  // The product of the non-zero extents must fit in int64 even when another extent is 0, so
  // that numel() and every later size computation stay defined.
  std::int64_t nonzero_product = 1;
  bool has_zero = false;
  for (const std::int64_t extent : *shape) {
    if (extent == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_product, extent, &nonzero_product)) {
      DDP_SAFETENSORS_FAIL(origin, what << " has shape " << to_string(*shape)
                                        << ", more elements than int64 counts");
    }
  }
  const std::uint64_t count = has_zero ? 0 : static_cast<std::uint64_t>(nonzero_product);
  std::uint64_t needed = 0;
  if (__builtin_mul_overflow(count, std::uint64_t{dtype_size(*dtype)}, &needed)) {
    DDP_SAFETENSORS_FAIL(origin, what << " has shape " << to_string(*shape) << " of " << *dtype_text
                                      << ", more bytes than 64 bits count");
  }
  entry.begin = (*offsets)[0];
  entry.end = (*offsets)[1];
  const std::string shown_offsets =
      "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.end < entry.begin) {
    DDP_SAFETENSORS_FAIL(origin, what << ": " << shown_offsets << " end before they begin");
  }
  if (entry.end - entry.begin != needed) {
    DDP_SAFETENSORS_FAIL(origin, what << ": " << shown_offsets << " hold "
                                      << entry.end - entry.begin << " bytes but shape "
                                      << to_string(*shape) << " of " << *dtype_text << " needs "
                                      << needed);
  }
  if (entry.end > data_bytes) {
    DDP_SAFETENSORS_FAIL(origin, what << ": " << shown_offsets << " reach past the end of the "
                                      << data_bytes
                                      << " bytes of data after the header (file truncated?)");
  }
  entry.name = std::move(name);
  entry.shape = std::move(*shape);
  return entry;
}

std::vector<std::uint8_t> serialize(const std::vector<NamedTensor>& tensors,
                                    const std::map<std::string, std::string>& metadata,
                                    const std::string& origin) {
  // what: the text as a message names it, e.g. "tensor 'w'".
  const auto check_utf8 = [&](const std::string& text, const std::string& what) {
    if (const std::optional<std::size_t> at = invalid_utf8_at(text)) {
      DDP_SAFETENSORS_FAIL(origin, "cannot write " << what << ": its byte " << *at
                                                   << " is not UTF-8, as the header must be");
    }
  };
  std::string header = "{";
  if (!metadata.empty()) {
    header += json_quoted(metadata_key) + ":{";
    for (const auto& [key, value] : metadata) {
      check_utf8(key, "metadata key " + shown_name(key));
      check_utf8(value, "the value of metadata key " + shown_name(key));
      if (header.back() != '{') header += ',';
      header += json_quoted(key) + ":" + json_quoted(value);
    }
    header += "}";
  }
  std::set<std::string_view> names;
  std::uint64_t data_bytes = 0;
  for (const NamedTensor& named : tensors) {
    const std::string what = "tensor " + shown_name(named.name);
    if (named.name.empty()) DDP_SAFETENSORS_FAIL(origin, "cannot write a tensor without a name");
    if (named.name == metadata_key) {
      DDP_SAFETENSORS_FAIL(origin, "cannot write " << what << ": the name is the format's key "
                                                   << "for metadata; rename the tensor");
    }
    if (!names.insert(named.name).second) {
      DDP_SAFETENSORS_FAIL(origin, "cannot write two tensors named " << shown_name(named.name)
                                                                     << "; names must be unique");
    }
    check_utf8(named.name, what);
    if (!named.tensor.defined()) {
      DDP_SAFETENSORS_FAIL(origin, "cannot write " << what << ": it is undefined");
    }
    const std::uint64_t bytes = named.tensor.nbytes();
    if (header.size() > 1) header += ',';
    header += json_quoted(named.name) + ":{\"dtype\":\"" +
              std::string(dtype_name(named.tensor.dtype())) + "\",\"shape\":[";
    for (std::size_t i = 0; i < named.tensor.ndim(); ++i) {
      if (i > 0) header += ',';
      header += std::to_string(named.tensor.shape()[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(data_bytes) + "," +
              std::to_string(data_bytes + bytes) + "]}";
    data_bytes += bytes;
  }
  header += "}";
  header.resize((header.size() + alignment - 1) / alignment * alignment, ' ');
  if (header.size() > max_header_bytes) {
    DDP_SAFETENSORS_FAIL(origin, "cannot write a header of "
                                     << header.size() << " bytes: readers refuse more than "
                                     << max_header_bytes << "; write fewer tensors per file");
  }

  std::vector<std::uint8_t> bytes;
  bytes.reserve(length_bytes + header.size() + data_bytes);
  const std::uint64_t header_bytes = header.size();
  bytes.resize(length_bytes);
  std::memcpy(bytes.data(), &header_bytes, length_bytes);
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (const NamedTensor& named : tensors) {
    if (named.tensor.nbytes() == 0) continue;
    // GPU tensors are copied to the host one at a time.
    const Tensor host =
        named.tensor.device().is_cpu() ? named.tensor : named.tensor.to(Device::cpu());
    const auto* data = static_cast<const std::uint8_t*>(host.data_ptr());
    bytes.insert(bytes.end(), data, data + host.nbytes());
  }
  return bytes;
}

}  // namespace

std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata) {
  return serialize(tensors, metadata, "safetensors");
}

SafetensorsContents parse_safetensors(std::span<const std::uint8_t> bytes,
                                      const std::string& origin) {
  if (bytes.size() < length_bytes) {
    DDP_SAFETENSORS_FAIL(origin, "truncated: " << bytes.size() << " bytes, less than the "
                                               << length_bytes << " of the header length");
  }
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), length_bytes);
  if (header_bytes > max_header_bytes) {
    DDP_SAFETENSORS_FAIL(origin, "header length " << header_bytes << " is more than the "
                                                  << max_header_bytes
                                                  << " bytes the format allows (not a "
                                                     "safetensors file?)");
  }
  if (header_bytes > bytes.size() - length_bytes) {
    DDP_SAFETENSORS_FAIL(origin, "truncated: the header length says " << header_bytes << " bytes, "
                                                                      << bytes.size() - length_bytes
                                                                      << " follow it");
  }
  const std::span<const std::uint8_t> header_span = bytes.subspan(length_bytes, header_bytes);
  const std::string_view header(reinterpret_cast<const char*>(header_span.data()),
                                header_span.size());
  // The reference's check too: a header is an object, from its first byte.
  if (header.empty() || header.front() != '{') {
    DDP_SAFETENSORS_FAIL(origin, "the header does not start with '{' at byte "
                                     << length_bytes << " (not a safetensors file?)");
  }
  const std::span<const std::uint8_t> data = bytes.subspan(length_bytes + header_bytes);

  SafetensorsContents contents;
  std::vector<Entry> entries;
  try {
    JsonReader json(header, length_bytes);
    json.begin_object("header");
    std::set<std::string> keys;
    std::string key;
    while (json.next_member(key, "header")) {
      const std::size_t key_offset = json.key_offset();
      if (!keys.insert(key).second) {
        DDP_SAFETENSORS_FAIL(
            origin, (key == metadata_key ? std::string(metadata_key) : "tensor " + shown_name(key))
                        << " appears twice (again at byte " << key_offset
                        << "); keys must be unique");
      }
      if (key == metadata_key) {
        read_metadata(json, contents.metadata, origin);
      } else if (key.empty()) {
        DDP_SAFETENSORS_FAIL(origin, "a tensor without a name at byte " << key_offset);
      } else {
        entries.push_back(read_entry(json, key, data.size(), origin));
      }
    }
    json.end("header");
  } catch (const JsonError& error) {
    throw SafetensorsError(origin + ": " + error.what(), error.where());
  }

  // The data holds the tensors back to back, each once: sorted by offsets, each must begin
  // where the one before it ended, and the last end where the data does.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.begin > covered) {
      DDP_SAFETENSORS_FAIL(origin, "tensor "
                                       << shown_name(entry.name) << ": data_offsets ["
                                       << entry.begin << ", " << entry.end << "] leave bytes ["
                                       << covered << ", " << entry.begin << ") of the data unused ("
                                       << (previous ? "after tensor " + shown_name(previous->name)
                                                    : std::string("at its start"))
                                       << "); tensors are packed without gaps");
    }
    if (entry.begin < covered) {
      DDP_SAFETENSORS_FAIL(
          origin, "tensor " << shown_name(entry.name) << ": data_offsets [" << entry.begin << ", "
                            << entry.end << "] overlap tensor " << shown_name(previous->name)
                            << " at [" << previous->begin << ", " << previous->end << "]");
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data.size()) {
    DDP_SAFETENSORS_FAIL(origin, data.size() - covered
                                     << " bytes after the last tensor's data: the tensors cover "
                                     << covered << " of the " << data.size()
                                     << " bytes after the header");
  }

  contents.tensors.reserve(entries.size());
  for (Entry& entry : entries) {
    Tensor tensor = Tensor::empty(std::move(entry.shape), entry.dtype);
    if (tensor.nbytes() > 0) {
      std::memcpy(tensor.data_ptr(), data.data() + entry.begin, tensor.nbytes());
    }
    contents.tensors.push_back({std::move(entry.name), std::move(tensor)});
  }
  return contents;
}

void write_safetensors(const std::filesystem::path& file, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::vector<std::uint8_t> bytes = serialize(tensors, metadata, file.string());
  if (const std::optional<FileFailure> failure = write_file_atomically(file, bytes)) {
    DDP_SAFETENSORS_FAIL(file.string(),
                         "cannot " << failure->action << " it: " << failure->reason
                                   << (failure->replaced ? "; it was written but may not "
                                                           "survive a crash"
                                                         : "; a file there before is untouched"));
  }
}

SafetensorsContents read_safetensors(const std::filesystem::path& file) {
  std::vector<std::uint8_t> bytes;
  if (const std::optional<FileFailure> failure = read_whole_file(file, bytes)) {
    DDP_SAFETENSORS_FAIL(file.string(), "cannot " << failure->action << ": " << failure->reason);
  }
  return parse_safetensors(bytes, file.string());
}

#undef DDP_SAFETENSORS_FAIL

}  // namespace ddp::io
