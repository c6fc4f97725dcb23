#include "ddp/data/idx.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "file_bytes.hpp"

namespace ddp::data {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension

std::string hex(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

// Deflate expands at most about 1032 times: a gzip file promising more is cut short or hostile.
constexpr std::uint64_t kMaxInflateRatio = 1032;

// One IDX file whose header has been read and whose size has been checked against it (a gzip
// file's inflated size only once it has been read: expect_end).
struct IdxFile {
  explicit IdxFile(const std::string& path) : bytes(path) {}
  FileBytes bytes;
  std::vector<std::uint32_t> dims;
  std::uint64_t promised = 0;  // header and data, in bytes; saturates at 2^64 - 1
  bool overflow = false;       // promised is really more than 2^64
};

const std::string& path_of(const IdxFile& file) {
  return file.bytes.path();
}

std::uint32_t read_u32(IdxFile& file, const char* field) {
  unsigned char bytes[4];
  if (file.bytes.read(bytes, 4) != 4) {
    DDP_THROW(InvalidArgument, path_of(file) << ": file ends inside the header (" << field << ")");
  }
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

// "header promises 3 x 2 x 2 bytes of data (28 bytes in all) but the file has 27 bytes (truncated
// data)": `size` is the file's, or the data a gzip file inflates to.
[[noreturn]] void refuse_size(const IdxFile& file, std::uint64_t size) {
  std::ostringstream shape;
  for (std::size_t d = 0; d < file.dims.size(); ++d) shape << (d ? " x " : "") << file.dims[d];
  DDP_THROW(InvalidArgument,
            path_of(file) << ": header promises " << shape.str() << " bytes of data ("
                          << (file.overflow ? "more than 2^64" : std::to_string(file.promised))
                          << " bytes in all) but the "
                          << (file.bytes.gzip() ? "gzip data inflates to " : "file has ") << size
                          << " bytes (" << (size < file.promised ? "truncated" : "trailing")
                          << " data)");
}

void read_header(IdxFile& file, std::uint32_t magic, const char* kind, const char* const* dim_names,
                 std::size_t ndims) {
  const std::string& path = path_of(file);
  if (file.bytes.stored_size() == 0) DDP_THROW(InvalidArgument, path << ": empty file");

  const std::uint32_t found = read_u32(file, "magic");
  if (found != magic) {
    DDP_THROW(InvalidArgument, path << ": magic " << hex(found) << " is not an IDX " << kind
                                    << " file (expected " << hex(magic) << ")");
  }
  // Multiplying in a budget of the file's size catches a hostile header before any overflow.
  std::uint64_t payload = 1;
  for (std::size_t d = 0; d < ndims; ++d) {
    const std::uint32_t extent = read_u32(file, "dimensions");
    if (extent == 0) {
      DDP_THROW(InvalidArgument, path << ": dimension '" << dim_names[d] << "' is 0 (dimensions)");
    }
    file.dims.push_back(extent);
    payload = payload > std::numeric_limits<std::uint64_t>::max() / extent
                  ? std::numeric_limits<std::uint64_t>::max()
                  : payload * extent;
  }
  const std::uint64_t header = 4 + 4 * ndims;
  file.overflow = payload > std::numeric_limits<std::uint64_t>::max() - header;
  file.promised = file.overflow ? std::numeric_limits<std::uint64_t>::max() : header + payload;
  const std::uint64_t stored = file.bytes.stored_size();
  if (!file.bytes.gzip() && stored != file.promised) refuse_size(file, stored);
  // Before anything is allocated for the data, which a gzip file does not size until inflated.
  if (file.bytes.gzip() && file.promised / kMaxInflateRatio > stored) {
    DDP_THROW(InvalidArgument,
              path << ": header promises "
                   << (file.overflow ? "more than 2^64" : std::to_string(file.promised))
                   << " bytes in all, more than a gzip file of " << stored
                   << " bytes can hold (truncated data)");
  }
}

void read_exactly(IdxFile& file, void* buffer, std::size_t bytes) {
  if (file.bytes.read(buffer, bytes) != bytes) {
    if (file.bytes.gzip()) refuse_size(file, file.bytes.position());
    DDP_THROW(InvalidArgument, path_of(file) << ": read failed (truncated data)");
  }
}

// The data has been read: a gzip file must end here, its checksum verified.
void expect_end(IdxFile& file) {
  unsigned char rest[4096];
  if (file.bytes.read(rest, sizeof(rest)) == 0) return;
  while (file.bytes.read(rest, sizeof(rest)) > 0) {
  }
  refuse_size(file, file.bytes.position());
}

}  // namespace

TensorDataset load_idx(const std::string& images_path, const std::string& labels_path,
                       std::int64_t class_count) {
  DDP_CHECK_ARG(0 <= class_count && class_count <= 256,
                "IDX labels are bytes: class count " << class_count << " must be in [0, 256]");
  static const char* const kImageDims[] = {"images", "rows", "columns"};
  static const char* const kLabelDims[] = {"labels"};
  IdxFile images(images_path), labels(labels_path);
  read_header(images, kImagesMagic, "image", kImageDims, 3);
  read_header(labels, kLabelsMagic, "label", kLabelDims, 1);
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != images.dims[0]) {
    DDP_THROW(InvalidArgument, images_path << " has " << n << " images but " << labels_path
                                           << " has " << labels.dims[0] << " labels");
  }

  std::vector<unsigned char> label_bytes(static_cast<std::size_t>(n));
  read_exactly(labels, label_bytes.data(), label_bytes.size());
  expect_end(labels);
  Tensor label_tensor = Tensor::empty({n}, DType::int64);
  std::int64_t* label_data = label_tensor.data<std::int64_t>();
  if (class_count == 0) {
    class_count =
        label_bytes.empty() ? 1 : 1 + *std::max_element(label_bytes.begin(), label_bytes.end());
  }
  for (std::int64_t i = 0; i < n; ++i) {
    label_data[i] = label_bytes[static_cast<std::size_t>(i)];
    if (label_data[i] >= class_count) {
      DDP_THROW(InvalidArgument, labels_path << ": label " << label_data[i] << " at index " << i
                                             << " outside [0, " << class_count << ")");
    }
  }

  const std::int64_t rows = images.dims[1], columns = images.dims[2];
  const std::int64_t pixels = rows * columns;
  Tensor features = Tensor::empty({n, 1, rows, columns});
  std::vector<unsigned char> row(static_cast<std::size_t>(pixels));
  float* out = features.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    read_exactly(images, row.data(), row.size());
    for (std::int64_t p = 0; p < pixels; ++p) *out++ = row[static_cast<std::size_t>(p)] / 255.0f;
  }
  expect_end(images);
  return TensorDataset(std::move(features), std::move(label_tensor), class_count);
}

}  // namespace ddp::data
