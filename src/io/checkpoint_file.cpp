// Checkpoint files and folders: atomic durable writes, whole-file reads, newest-K rotation.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <system_error>
#include <utility>

#include "ddp/core/log.hpp"
#include "ddp/io/checkpoint.hpp"

namespace ddp::io {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view file_prefix = "checkpoint-";
constexpr std::string_view file_suffix = ".ddpckpt";
constexpr std::string_view temp_marker = ".tmp.";

std::string errno_text(int error) {
  return std::system_category().message(error);
}

// The folder a file lives in ("." for a bare file name), for opening and messages.
fs::path folder_of(const fs::path& file) {
  return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

// The step of a checkpoint-<digits>.ddpckpt name, or -1 for any other name (temp files included).
std::int64_t step_of(const std::string& name) {
  if (name.size() <= file_prefix.size() + file_suffix.size() || !name.starts_with(file_prefix) ||
      !name.ends_with(file_suffix)) {
    return -1;
  }
  const std::string_view digits(name.data() + file_prefix.size(),
                                name.size() - file_prefix.size() - file_suffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  std::int64_t step = -1;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  return error == std::errc() && end == digits.data() + digits.size() ? step : -1;
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

[[noreturn]] void fail_write(const fs::path& file, const std::string& action, int error) {
  DDP_THROW(CheckpointError, "checkpoint folder '" << folder_of(file).string() << "': cannot "
                                                   << action << " " << file.filename().string()
                                                   << ": " << errno_text(error)
                                                   << "; the previous checkpoints are untouched");
}

}  // namespace

void write_checkpoint_file(const Checkpoint& checkpoint, const fs::path& file) {
  const std::vector<std::uint8_t> bytes = serialize(checkpoint);
  // One temporary name per process: were two processes to save the same step, each renames a
  // whole file of its own rather than one half-overwritten by the other.
  TempFile temp(fs::path(file) += std::string(temp_marker) + std::to_string(::getpid()));
  temp.fd() = ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (temp.fd() < 0) fail_write(file, "create a temporary file for", errno);
  const std::uint8_t* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(temp.fd(), data, std::min<std::size_t>(left, 1 << 30));
    if (written < 0 && errno == EINTR) continue;
    // write() returning 0 for a non-empty buffer means no room was left.
    if (written <= 0) fail_write(file, "write", written < 0 ? errno : ENOSPC);
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  // A full disk may surface only at fsync or close (delayed allocation, NFS): both are checked.
  if (::fsync(temp.fd()) != 0) fail_write(file, "flush", errno);
  const int fd = std::exchange(temp.fd(), -1);
  if (::close(fd) != 0) fail_write(file, "close", errno);
  if (::rename(temp.path().c_str(), file.c_str()) != 0) fail_write(file, "rename into", errno);
  temp.commit();
  // The rename is durable only once the folder's entry is; some file systems cannot sync a
  // folder (EINVAL), and there the rename is as durable as it gets.
  const int folder_fd = ::open(folder_of(file).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd < 0) fail_write(file, "open the folder to sync", errno);
  const int synced = ::fsync(folder_fd);
  const int sync_error = errno;
  ::close(folder_fd);
  if (synced != 0 && sync_error != EINVAL) fail_write(file, "sync the folder entry of", sync_error);
}

Checkpoint read_checkpoint_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DDP_THROW(CheckpointError, file.string() << ": cannot open: " << errno_text(errno));
  struct stat info {};
  std::vector<std::uint8_t> bytes;
  int error = 0;
  if (::fstat(fd, &info) != 0) {
    error = errno;
  } else if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    DDP_THROW(CheckpointError, file.string() << ": not a regular file");
  } else {
    bytes.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) error = errno;
      if (got <= 0) break;
      done += static_cast<std::size_t>(got);
    }
    // A file that shrank while being read parses as truncated.
    bytes.resize(done);
  }
  ::close(fd);
  if (error != 0)
    DDP_THROW(CheckpointError, file.string() << ": cannot read: " << errno_text(error));
  return parse_checkpoint(bytes, file.string());
}

CheckpointDirectory::CheckpointDirectory(fs::path directory, int keep)
    : directory_(std::move(directory)), keep_(keep) {
  DDP_CHECK_ARG(keep_ >= 1, "keep at least 1 checkpoint, got " << keep_);
  std::error_code error;
  fs::create_directories(directory_, error);
  if (error || !fs::is_directory(directory_)) {
    DDP_THROW(CheckpointError, "cannot create checkpoint folder '"
                                   << directory_.string() << "': "
                                   << (error ? error.message() : "a file of that name is there"));
  }
}

fs::path CheckpointDirectory::file_for_step(std::int64_t step) const {
  DDP_CHECK(step >= 0, "checkpoint step " << step << " is negative");
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint-%010lld.ddpckpt", static_cast<long long>(step));
  return directory_ / name;
}

std::vector<fs::path> CheckpointDirectory::list() const {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code error;
  for (fs::directory_iterator it(directory_, error), end; !error && it != end;
       it.increment(error)) {
    const std::int64_t step = step_of(it->path().filename().string());
    if (step >= 0 && it->is_regular_file()) found.emplace_back(step, it->path());
  }
  if (error) {
    DDP_THROW(CheckpointError,
              "cannot list checkpoint folder '" << directory_.string() << "': " << error.message());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> files;
  for (auto& entry : found) files.push_back(std::move(entry.second));
  return files;
}

fs::path CheckpointDirectory::save(const Checkpoint& checkpoint) {
  const fs::path file = file_for_step(checkpoint.step);
  write_checkpoint_file(checkpoint, file);
  // The new checkpoint is durable: only now may older ones go. Those of later steps are not
  // counted: a corrupt one that --resume skipped stays for inspection, and does not take the
  // place of a checkpoint that reads back.
  std::vector<fs::path> files = list();
  const auto written = std::find(files.begin(), files.end(), file);
  if (written != files.end()) files.erase(written + 1, files.end());
  const std::size_t excess = files.size() > static_cast<std::size_t>(keep_)
                                 ? files.size() - static_cast<std::size_t>(keep_)
                                 : 0;
  for (std::size_t i = 0; i < excess; ++i) {
    std::error_code error;
    if (!fs::remove(files[i], error) && error) {
      DDP_WARN("could not delete old checkpoint " << files[i].string() << ": " << error.message());
    }
  }
  // Temporary files of earlier steps' writes that crashed: nothing reads them, and each holds a
  // whole model. Those of this step may still be another process's write in progress.
  std::error_code error;
  for (fs::directory_iterator it(directory_, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    const std::size_t marker = name.rfind(temp_marker);
    if (marker == std::string::npos) continue;
    const std::int64_t temp_step = step_of(name.substr(0, marker));
    if (temp_step >= 0 && temp_step < checkpoint.step) {
      std::error_code remove_error;
      fs::remove(it->path(), remove_error);
    }
  }
  return file;
}

std::optional<LoadedCheckpoint> CheckpointDirectory::load_newest() const {
  const std::vector<fs::path> files = list();
  std::string newest_error;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      return LoadedCheckpoint{*it, read_checkpoint_file(*it)};
    } catch (const CheckpointError& error) {
      if (newest_error.empty()) newest_error = error.what();
      if (std::next(it) != files.rend()) {
        DDP_WARN("skipping checkpoint " << error.what() << "; trying an older one");
      }
    }
  }
  if (files.empty()) return std::nullopt;
  // Starting over would rotate them away: what is left of them is the user's to judge.
  DDP_THROW(CheckpointError, "none of the " << files.size() << " checkpoints in '"
                                            << directory_.string() << "' reads back whole (newest, "
                                            << newest_error
                                            << "); move them out of the folder to start afresh");
}

}  // namespace ddp::io
