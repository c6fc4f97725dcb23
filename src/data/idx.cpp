#include "ddp/data/idx.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::data {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension

std::string hex(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

// One IDX file whose header has been read and whose size has been checked against it.
struct IdxFile {
  std::string path;
  std::ifstream stream;
  std::uint64_t file_size = 0;
  std::vector<std::uint32_t> dims;
};

std::uint32_t read_u32(IdxFile& file, const char* field) {
  unsigned char bytes[4];
  if (!file.stream.read(reinterpret_cast<char*>(bytes), 4)) {
    DDP_THROW(InvalidArgument, file.path << ": file ends inside the header (" << field << ")");
  }
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

IdxFile open_idx(const std::string& path, std::uint32_t magic, const char* kind,
                 const char* const* dim_names, std::size_t ndims) {
  IdxFile file{path, std::ifstream(path, std::ios::binary), 0, {}};
  if (!file.stream)
    DDP_THROW(InvalidArgument, path << ": cannot open (" << std::strerror(errno) << ")");
  std::error_code error;
  file.file_size = std::filesystem::file_size(path, error);
  if (error)
    DDP_THROW(InvalidArgument, path << ": cannot read its size (" << error.message() << ")");
  if (file.file_size == 0) DDP_THROW(InvalidArgument, path << ": empty file");

  const std::uint32_t found = read_u32(file, "magic");
  if (found != magic) {
    // The files are usually downloaded as .gz; say so rather than only "wrong magic".
    const bool gzip = (found >> 16) == 0x1f8b;
    DDP_THROW(InvalidArgument, path << ": magic " << hex(found) << " is not an IDX " << kind
                                    << " file (expected " << hex(magic) << ")"
                                    << (gzip ? "; it is gzip-compressed: gunzip it first" : ""));
  }
  // Multiplying in a budget of the file's size catches a hostile header before any overflow.
  std::uint64_t promised = 4 + 4 * ndims, payload = 1;
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
  const bool overflow = payload > std::numeric_limits<std::uint64_t>::max() - promised;
  promised = overflow ? std::numeric_limits<std::uint64_t>::max() : promised + payload;
  if (file.file_size != promised) {
    std::ostringstream shape;
    for (std::size_t d = 0; d < ndims; ++d) shape << (d ? " x " : "") << file.dims[d];
    DDP_THROW(InvalidArgument,
              path << ": header promises " << shape.str() << " bytes of data ("
                   << (overflow ? "more than 2^64" : std::to_string(promised))
                   << " bytes in all) but the file has " << file.file_size << " bytes ("
                   << (file.file_size < promised ? "truncated data" : "trailing data") << ")");
  }
  return file;
}

void read_exactly(IdxFile& file, void* buffer, std::size_t bytes) {
  if (!file.stream.read(static_cast<char*>(buffer), static_cast<std::streamsize>(bytes))) {
    DDP_THROW(InvalidArgument, file.path << ": read failed (truncated data)");
  }
}

}  // namespace

TensorDataset load_idx(const std::string& images_path, const std::string& labels_path,
                       std::int64_t class_count) {
  DDP_CHECK_ARG(1 <= class_count && class_count <= 256,
                "IDX labels are bytes: class count " << class_count << " must be in [1, 256]");
  static const char* const kImageDims[] = {"images", "rows", "columns"};
  static const char* const kLabelDims[] = {"labels"};
  IdxFile images = open_idx(images_path, kImagesMagic, "image", kImageDims, 3);
  IdxFile labels = open_idx(labels_path, kLabelsMagic, "label", kLabelDims, 1);
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != images.dims[0]) {
    DDP_THROW(InvalidArgument, images_path << " has " << n << " images but " << labels_path
                                           << " has " << labels.dims[0] << " labels");
  }

  std::vector<unsigned char> label_bytes(static_cast<std::size_t>(n));
  read_exactly(labels, label_bytes.data(), label_bytes.size());
  Tensor label_tensor = Tensor::empty({n}, DType::int64);
  std::int64_t* label_data = label_tensor.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    label_data[i] = label_bytes[static_cast<std::size_t>(i)];
    if (label_data[i] >= class_count) {
      DDP_THROW(InvalidArgument, labels_path << ": label " << label_data[i] << " at index " << i
                                             << " outside [0, " << class_count << ")");
    }
  }

  const std::int64_t pixels = std::int64_t{images.dims[1]} * images.dims[2];
  Tensor features = Tensor::empty({n, pixels});
  std::vector<unsigned char> row(static_cast<std::size_t>(pixels));
  float* out = features.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    read_exactly(images, row.data(), row.size());
    for (std::int64_t p = 0; p < pixels; ++p) *out++ = row[static_cast<std::size_t>(p)] / 255.0f;
  }
  return TensorDataset(std::move(features), std::move(label_tensor), class_count);
}

}  // namespace ddp::data
