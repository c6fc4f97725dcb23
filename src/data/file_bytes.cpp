#include "file_bytes.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "ddp/core/error.hpp"

namespace ddp::data {
namespace {

constexpr std::size_t kInputChunk = std::size_t{1} << 16;
constexpr int kGzipWindowBits = 15 + 16;  // the largest window, gzip wrapper only

}  // namespace

FileBytes::FileBytes(std::string path) : path_(std::move(path)), file_(path_, std::ios::binary) {
  if (!file_) DDP_THROW(InvalidArgument, path_ << ": cannot open (" << std::strerror(errno) << ")");
  std::error_code error;
  stored_size_ = std::filesystem::file_size(path_, error);
  if (error) {
    DDP_THROW(InvalidArgument, path_ << ": cannot read its size (" << error.message() << ")");
  }
  unsigned char magic[2] = {0, 0};
  file_.read(reinterpret_cast<char*>(magic), 2);
  gzip_ = file_.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  file_.clear();
  file_.seekg(0);
  if (!gzip_) return;
  if (inflateInit2(&stream_, kGzipWindowBits) != Z_OK) {
    DDP_THROW(Error, path_ << ": zlib cannot start inflating (out of memory?)");
  }
  input_.resize(kInputChunk);
}

FileBytes::~FileBytes() {
  if (gzip_) inflateEnd(&stream_);
}

std::size_t FileBytes::read(void* buffer, std::size_t bytes) {
  std::size_t got = 0;
  if (gzip_) {
    got = inflate_into(static_cast<unsigned char*>(buffer), bytes);
  } else {
    file_.read(static_cast<char*>(buffer), static_cast<std::streamsize>(bytes));
    got = static_cast<std::size_t>(file_.gcount());
  }
  position_ += got;
  return got;
}

bool FileBytes::refill() {
  file_.read(reinterpret_cast<char*>(input_.data()), static_cast<std::streamsize>(input_.size()));
  const auto got = static_cast<std::size_t>(file_.gcount());
  if (file_.bad())
    DDP_THROW(InvalidArgument, path_ << ": read failed (" << std::strerror(errno) << ")");
  stream_.next_in = input_.data();
  stream_.avail_in = static_cast<uInt>(got);
  return got > 0;
}

std::size_t FileBytes::inflate_into(unsigned char* buffer, std::size_t bytes) {
  std::size_t produced = 0;
  while (produced < bytes) {
    if (stream_.avail_in == 0 && !refill()) {
      if (member_ended_) break;
      DDP_THROW(InvalidArgument, path_ << ": the gzip stream ends early (truncated .gz file)");
    }
    if (member_ended_) {
      // Concatenated gzip members are one file (gzip -d reads them so); anything else after a
      // member fails the next header check below.
      inflateReset(&stream_);
      member_ended_ = false;
    }
    const std::size_t room =
        std::min<std::size_t>(bytes - produced, std::numeric_limits<uInt>::max());
    stream_.next_out = buffer + produced;
    stream_.avail_out = static_cast<uInt>(room);
    const int status = inflate(&stream_, Z_NO_FLUSH);
    produced += room - stream_.avail_out;
    if (status == Z_STREAM_END) {
      member_ended_ = true;
    } else if (status != Z_OK) {
      DDP_THROW(InvalidArgument, path_ << ": corrupt gzip data ("
                                       << (stream_.msg != nullptr ? stream_.msg : zError(status))
                                       << ")");
    }
  }
  return produced;
}

}  // namespace ddp::data
