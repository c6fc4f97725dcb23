// FileBytes: a file's bytes in order, inflated on the way when the file is gzip-compressed, so
// that the readers of binary formats take .gz files as they are (IDX datasets ship that way).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace ddp::data {

class FileBytes {
 public:
  // Gzip is recognised by the file's first two bytes (1f 8b), whatever its name. A file that
  // cannot be opened is an InvalidArgument naming it.
  explicit FileBytes(std::string path);
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const std::string& path() const { return path_; }
  bool gzip() const { return gzip_; }
  // The file's size on disk.
  std::uint64_t stored_size() const { return stored_size_; }
  // The bytes read() has handed out so far (inflated ones, for gzip).
  std::uint64_t position() const { return position_; }

  // Up to `bytes` bytes into buffer; fewer only where the data ends. Gzip data that is corrupt,
  // fails its checksum or is cut short is an InvalidArgument naming the file and what is wrong.
  std::size_t read(void* buffer, std::size_t bytes);

 private:
  std::size_t inflate_into(unsigned char* buffer, std::size_t bytes);
  // The next chunk of the file into input_; false at its end.
  bool refill();

  std::string path_;
  std::ifstream file_;
  std::uint64_t stored_size_ = 0;
  std::uint64_t position_ = 0;
  bool gzip_ = false;
  z_stream stream_{};
  bool member_ended_ = false;  // a gzip member ended; another may follow
  std::vector<unsigned char> input_;
};

}  // namespace ddp::data
