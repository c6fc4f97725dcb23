// The checkpoint format (serialize, parse) and the model state helpers; files and folders are in
// checkpoint_file.cpp.
#include "ddp/io/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "crc32c.hpp"
#include "shown_name.hpp"

namespace ddp::io {
namespace {

// The format is little-endian; on such a host integers and tensor data are copied as they are.
static_assert(std::endian::native == std::endian::little,
              "checkpoints are little-endian; a big-endian host needs byte swaps here");

constexpr std::array<std::uint8_t, 8> magic = {'D', 'D', 'P', 'C', 'K', 'P', 'T', '\0'};
constexpr std::uint32_t format_version = 1;
constexpr std::size_t header_bytes = magic.size() + sizeof(std::uint32_t) + sizeof(std::uint64_t);
constexpr std::size_t checksum_bytes = sizeof(std::uint32_t);

enum class RecordKind : std::uint8_t { integer = 1, metadata = 2, tensor = 3 };
enum class Section : std::uint8_t { model = 0, optimizer = 1, extra = 2 };

// The integer records, in the order of integer_fields.
constexpr std::array<const char*, 3> integer_names = {"step", "epoch", "next_batch"};

std::array<std::int64_t*, 3> integer_fields(Checkpoint& checkpoint) {
  return {&checkpoint.step, &checkpoint.epoch, &checkpoint.next_batch};
}

// Codes fixed by the format, independent of the DType enum's order.
std::uint8_t dtype_code(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return 1;
    case DType::float64:
      return 2;
    case DType::int32:
      return 3;
    case DType::int64:
      return 4;
    case DType::bfloat16:
      return 5;
    case DType::float16:
      return 6;
  }
  DDP_THROW(Error, "dtype " << static_cast<int>(dtype) << " has no checkpoint code");
}

std::optional<DType> dtype_from_code(std::uint8_t code) {
  constexpr std::array<DType, 6> by_code = {DType::float32, DType::float64,  DType::int32,
                                            DType::int64,   DType::bfloat16, DType::float16};
  if (code < 1 || code > by_code.size()) return std::nullopt;
  return by_code[code - 1];
}

class Writer {
 public:
  explicit Writer(std::size_t reserve) { bytes_.reserve(reserve); }

  void raw(const void* data, std::size_t size) {
    if (size == 0) return;
    const auto* begin = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), begin, begin + size);
  }
  template <typename T>
  void scalar(T value) {
    raw(&value, sizeof(value));
  }
  void string(const std::string& text) {
    DDP_CHECK(text.size() <= std::numeric_limits<std::uint32_t>::max(),
              "checkpoint string of " << text.size() << " bytes is longer than the format allows");
    scalar(static_cast<std::uint32_t>(text.size()));
    raw(text.data(), text.size());
  }
  void record(RecordKind kind, const std::string& name) {
    scalar(static_cast<std::uint8_t>(kind));
    string(name);
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

void write_tensors(Writer& writer, Section section, const std::vector<NamedTensor>& tensors) {
  for (const NamedTensor& named : tensors) {
    const Tensor& tensor = named.tensor;
    DDP_CHECK(tensor.defined(), "cannot checkpoint tensor '" << named.name << "': it is undefined");
    DDP_CHECK(tensor.device().is_cpu(), "cannot checkpoint tensor '"
                                            << named.name << "' on " << to_string(tensor.device())
                                            << "; copy it to the CPU first");
    DDP_CHECK(tensor.ndim() <= std::numeric_limits<std::uint8_t>::max(),
              "cannot checkpoint tensor '" << named.name << "' of rank " << tensor.ndim());
    writer.record(RecordKind::tensor, named.name);
    writer.scalar(static_cast<std::uint8_t>(section));
    writer.scalar(dtype_code(tensor.dtype()));
    writer.scalar(static_cast<std::uint8_t>(tensor.ndim()));
    for (std::int64_t extent : tensor.shape()) writer.scalar(extent);
    writer.raw(tensor.data_ptr(), tensor.nbytes());
  }
}

// "<origin>: <message>" as a CheckpointError.
#define DDP_CHECKPOINT_FAIL(origin, message_stream) \
  DDP_THROW(CheckpointError, (origin) << ": " << message_stream)

// Reads the body front to back; every read checks the bytes left first.
class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, std::size_t base_offset, const std::string& origin)
      : bytes_(bytes), base_offset_(base_offset), origin_(origin) {}

  std::size_t left() const { return bytes_.size() - position_; }
  // The offset in the file, for messages.
  std::size_t offset() const { return base_offset_ + position_; }
  const std::string& origin() const { return origin_; }

  std::span<const std::uint8_t> take(std::size_t size, const std::string& what) {
    if (size > left()) {
      DDP_CHECKPOINT_FAIL(origin_, "truncated: header promises " << size << " bytes of " << what
                                                                 << ", " << left() << " left");
    }
    std::span<const std::uint8_t> taken = bytes_.subspan(position_, size);
    position_ += size;
    return taken;
  }
  template <typename T>
  T scalar(const std::string& what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what).data(), sizeof(T));
    return value;
  }
  std::string string(const std::string& what) {
    const auto size = scalar<std::uint32_t>("the length of " + what);
    std::span<const std::uint8_t> text = take(size, what);
    return std::string(text.begin(), text.end());
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
  std::size_t base_offset_;
  const std::string& origin_;
};

// Reads a tensor record's payload after its name, checking the shape against the bytes left.
NamedTensor read_tensor(Reader& reader, std::string name, Section& section) {
  const std::string what = "tensor " + shown_name(name);
  const auto section_code = reader.scalar<std::uint8_t>("the section of " + what);
  if (section_code > static_cast<std::uint8_t>(Section::extra)) {
    DDP_CHECKPOINT_FAIL(reader.origin(), what << " has unknown section " << int{section_code});
  }
  section = static_cast<Section>(section_code);
  const auto code = reader.scalar<std::uint8_t>("the dtype of " + what);
  const std::optional<DType> dtype = dtype_from_code(code);
  if (!dtype) DDP_CHECKPOINT_FAIL(reader.origin(), what << " has unknown dtype code " << int{code});
  const auto rank = reader.scalar<std::uint8_t>("the rank of " + what);
  std::span<const std::uint8_t> extents =
      reader.take(rank * sizeof(std::int64_t), "the shape of " + what);
  Shape shape(rank);
  if (rank > 0) std::memcpy(shape.data(), extents.data(), extents.size());
  // The product of the non-zero extents must fit in int64 even when another extent is 0, so
  // that numel() and every later size computation stay defined.
  std::int64_t nonzero_product = 1;
  bool has_zero = false;
  for (std::int64_t extent : shape) {
    if (extent < 0) {
      DDP_CHECKPOINT_FAIL(reader.origin(), what << " has negative shape " << to_string(shape));
    }
    if (extent == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_product, extent, &nonzero_product)) {
      DDP_CHECKPOINT_FAIL(reader.origin(), what << " has shape " << to_string(shape)
                                                << ", more elements than int64 counts");
    }
  }
  const std::uint64_t count = has_zero ? 0 : static_cast<std::uint64_t>(nonzero_product);
  const std::uint64_t element_bytes = dtype_size(*dtype);
  std::uint64_t data_bytes = 0;
  if (__builtin_mul_overflow(count, element_bytes, &data_bytes) || data_bytes > reader.left()) {
    DDP_CHECKPOINT_FAIL(reader.origin(), "truncated: header promises "
                                             << count << " " << to_string(*dtype) << " elements ("
                                             << to_string(shape) << ") of " << what << ", "
                                             << reader.left() << " bytes left");
  }
  std::span<const std::uint8_t> data = reader.take(static_cast<std::size_t>(data_bytes), what);
  Tensor tensor = Tensor::empty(std::move(shape), *dtype);
  if (!data.empty()) std::memcpy(tensor.data_ptr(), data.data(), data.size());
  return {std::move(name), std::move(tensor)};
}

}  // namespace

std::vector<std::uint8_t> serialize(const Checkpoint& checkpoint) {
  std::size_t reserve = header_bytes + checksum_bytes + 256;
  for (const auto* tensors : {&checkpoint.model, &checkpoint.optimizer, &checkpoint.extra}) {
    for (const NamedTensor& named : *tensors) {
      reserve += named.name.size() + 16 + named.tensor.ndim() * 8 + named.tensor.nbytes();
    }
  }
  for (const auto& [key, value] : checkpoint.metadata) reserve += 16 + key.size() + value.size();

  Writer writer(reserve);
  writer.raw(magic.data(), magic.size());
  writer.scalar(format_version);
  writer.scalar(std::uint64_t{0});  // the body size, filled in below
  const std::array<std::int64_t, 3> integers = {checkpoint.step, checkpoint.epoch,
                                                checkpoint.next_batch};
  for (std::size_t i = 0; i < integers.size(); ++i) {
    DDP_CHECK(integers[i] >= 0,
              "cannot checkpoint " << integer_names[i] << " = " << integers[i] << ": must be >= 0");
    writer.record(RecordKind::integer, integer_names[i]);
    writer.scalar(integers[i]);
  }
  for (const auto& [key, value] : checkpoint.metadata) {
    writer.record(RecordKind::metadata, key);
    writer.string(value);
  }
  write_tensors(writer, Section::model, checkpoint.model);
  write_tensors(writer, Section::optimizer, checkpoint.optimizer);
  write_tensors(writer, Section::extra, checkpoint.extra);

  std::vector<std::uint8_t>& bytes = writer.bytes();
  const std::uint64_t body_bytes = bytes.size() - header_bytes;
  std::memcpy(bytes.data() + magic.size() + sizeof(format_version), &body_bytes,
              sizeof(body_bytes));
  writer.scalar(crc32c(bytes));
  return std::move(bytes);
}

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& origin) {
  if (bytes.size() < header_bytes + checksum_bytes) {
    DDP_CHECKPOINT_FAIL(origin, "truncated: " << bytes.size() << " bytes, less than the "
                                              << header_bytes + checksum_bytes
                                              << " of an empty checkpoint");
  }
  if (!std::equal(magic.begin(), magic.end(), bytes.begin())) {
    DDP_CHECKPOINT_FAIL(origin, "not a ddp checkpoint (wrong magic bytes)");
  }
  std::uint32_t version = 0;
  std::memcpy(&version, bytes.data() + magic.size(), sizeof(version));
  if (version != format_version) {
    DDP_CHECKPOINT_FAIL(origin, "format version " << version << ", but this build reads version "
                                                  << format_version);
  }
  std::uint64_t body_bytes = 0;
  std::memcpy(&body_bytes, bytes.data() + magic.size() + sizeof(version), sizeof(body_bytes));
  const std::size_t available = bytes.size() - header_bytes - checksum_bytes;
  if (body_bytes > available) {
    DDP_CHECKPOINT_FAIL(origin, "truncated: header promises " << body_bytes << " bytes of records, "
                                                              << available << " present");
  }
  if (body_bytes < available) {
    DDP_CHECKPOINT_FAIL(
        origin, available - body_bytes << " bytes after the checksum (file longer than written)");
  }
  const std::span<const std::uint8_t> covered = bytes.first(bytes.size() - checksum_bytes);
  std::uint32_t stored_checksum = 0;
  std::memcpy(&stored_checksum, bytes.data() + covered.size(), sizeof(stored_checksum));
  if (crc32c(covered) != stored_checksum) {
    DDP_CHECKPOINT_FAIL(origin, "checksum mismatch (file truncated or corrupt)");
  }

  Checkpoint checkpoint;
  std::array<bool, 3> seen_integers{};
  Reader reader(covered.subspan(header_bytes), header_bytes, origin);
  while (reader.left() > 0) {
    const std::size_t record_offset = reader.offset();
    const auto kind = reader.scalar<std::uint8_t>("a record kind");
    if (kind < static_cast<std::uint8_t>(RecordKind::integer) ||
        kind > static_cast<std::uint8_t>(RecordKind::tensor)) {
      DDP_CHECKPOINT_FAIL(origin,
                          "unknown record kind " << int{kind} << " at byte " << record_offset);
    }
    std::string name = reader.string("a record name");
    switch (static_cast<RecordKind>(kind)) {
      case RecordKind::integer: {
        const auto value = reader.scalar<std::int64_t>("integer " + shown_name(name));
        const auto index = static_cast<std::size_t>(
            std::find(integer_names.begin(), integer_names.end(), name) - integer_names.begin());
        if (index == integer_names.size()) {
          DDP_CHECKPOINT_FAIL(
              origin, "unknown integer " << shown_name(name) << " at byte " << record_offset);
        }
        if (seen_integers[index])
          DDP_CHECKPOINT_FAIL(origin, "integer " << shown_name(name) << " twice");
        if (value < 0)
          DDP_CHECKPOINT_FAIL(origin, "integer " << shown_name(name) << " is " << value);
        seen_integers[index] = true;
        *integer_fields(checkpoint)[index] = value;
        break;
      }
      case RecordKind::metadata:
        checkpoint.metadata[name] = reader.string("metadata " + shown_name(name));
        break;
      case RecordKind::tensor: {
        Section section = Section::model;
        NamedTensor named = read_tensor(reader, std::move(name), section);
        std::vector<NamedTensor>& into = section == Section::model       ? checkpoint.model
                                         : section == Section::optimizer ? checkpoint.optimizer
                                                                         : checkpoint.extra;
        into.push_back(std::move(named));
        break;
      }
    }
  }
  for (std::size_t i = 0; i < integer_names.size(); ++i) {
    if (!seen_integers[i]) DDP_CHECKPOINT_FAIL(origin, "no '" << integer_names[i] << "' record");
  }
  return checkpoint;
}

Tensor generator_state(const Generator& generator) {
  Tensor tensor = Tensor::empty({4}, DType::int64);
  const Generator::State state = generator.state();
  for (std::size_t i = 0; i < state.size(); ++i) {
    tensor.data<std::int64_t>()[i] = std::bit_cast<std::int64_t>(state[i]);
  }
  return tensor;
}

Generator::State generator_state_from(const Tensor& tensor) {
  DDP_CHECK(tensor.defined() && tensor.dtype() == DType::int64 && tensor.shape() == Shape{4},
            "a generator state is an int64 [4] tensor, got "
                << (tensor.defined() ? to_string(tensor.dtype()) + to_string(tensor.shape())
                                     : std::string("an undefined tensor")));
  Generator::State state{};
  for (std::size_t i = 0; i < state.size(); ++i) {
    state[i] = std::bit_cast<std::uint64_t>(tensor.data<std::int64_t>()[i]);
  }
  return state;
}

const Tensor& find_tensor(const std::vector<NamedTensor>& tensors, const std::string& name,
                          const std::string& origin) {
  const auto found = std::find_if(tensors.begin(), tensors.end(),
                                  [&](const NamedTensor& named) { return named.name == name; });
  DDP_CHECK(found != tensors.end(), origin << " has no tensor '" << name << "'");
  return found->tensor;
}

#undef DDP_CHECKPOINT_FAIL

}  // namespace ddp::io
