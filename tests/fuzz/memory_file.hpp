// A file in memory (memfd) that the path-taking readers can open as /proc/self/fd/N: each fuzz
// input becomes a file without touching the disk, and the readers run exactly as in production.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

namespace ddp::fuzz {

class MemoryFile {
 public:
  MemoryFile() : fd_(memfd_create("ddp-fuzz", 0)) {
    if (fd_ < 0) std::abort();  // the harness cannot run at all; not a finding
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the file's contents with bytes.
  void assign(std::span<const std::uint8_t> bytes) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n =
          pwrite(fd_, bytes.data() + written, bytes.size() - written, static_cast<off_t>(written));
      if (n <= 0) std::abort();
      written += static_cast<std::size_t>(n);
    }
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace ddp::fuzz
