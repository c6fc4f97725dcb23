#include "whole_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

namespace ddp::io {
namespace {

namespace fs = std::filesystem;

std::string errno_text(int error) {
  return std::system_category().message(error);
}

FileFailure failure(std::string action, int error, bool replaced = false) {
  return {std::move(action), errno_text(error), replaced};
}

// The temporary file of a write in progress: closed and removed unless committed.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const fs::path& path() const { return path_; }
  int& fd() { return fd_; }
  void commit() { committed_ = true; }

 private:
  fs::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

fs::path folder_of(const fs::path& file) {
  return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

std::optional<FileFailure> write_file_atomically(const fs::path& file,
                                                 std::span<const std::uint8_t> bytes) {
  TempFile temp(fs::path(file) += std::string(temporary_marker) + std::to_string(::getpid()));
  temp.fd() = ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (temp.fd() < 0) return failure("create a temporary file for", errno);
  const std::uint8_t* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(temp.fd(), data, std::min<std::size_t>(left, 1 << 30));
    if (written < 0 && errno == EINTR) continue;
    // write() returning 0 for a non-empty buffer means no room was left.
    if (written <= 0) return failure("write", written < 0 ? errno : ENOSPC);
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  // A full disk may surface only at fsync or close (delayed allocation, NFS): both are checked.
  if (::fsync(temp.fd()) != 0) return failure("flush", errno);
  const int fd = std::exchange(temp.fd(), -1);
  if (::close(fd) != 0) return failure("close", errno);
  if (::rename(temp.path().c_str(), file.c_str()) != 0) {
    return failure("rename the temporary file over", errno);
  }
  temp.commit();
  // The rename is durable only once the folder's entry is; some file systems cannot sync a
  // folder (EINVAL), and there the rename is as durable as it gets.
  const ScopedFd folder(::open(folder_of(file).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (folder.get() < 0) return failure("open the folder to sync", errno, true);
  if (::fsync(folder.get()) != 0 && errno != EINVAL) {
    return failure("sync the folder entry of", errno, true);
  }
  return std::nullopt;
}

std::optional<FileFailure> read_whole_file(const fs::path& file, std::vector<std::uint8_t>& bytes) {
  bytes.clear();
  const ScopedFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return failure("open", errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return failure("read", errno);
  if (!S_ISREG(info.st_mode)) return FileFailure{"read", "not a regular file"};
  bytes.resize(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failure("read", errno);
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
  return std::nullopt;
}

}  // namespace ddp::io
