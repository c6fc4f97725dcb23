// Checkpoint files and folders: atomic durable writes and whole-file reads (whole_file.hpp),
// newest-K rotation.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <system_error>
#include <utility>

#include "ddp/core/log.hpp"
#include "ddp/io/checkpoint.hpp"
#include "whole_file.hpp"

namespace ddp::io {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view file_prefix = "checkpoint-";
constexpr std::string_view file_suffix = ".ddpckpt";

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

[[noreturn]] void fail_write(const fs::path& file, const FileFailure& failure) {
  DDP_THROW(CheckpointError, "checkpoint folder '"
                                 << folder_of(file).string() << "': cannot " << failure.action
                                 << " " << file.filename().string() << ": " << failure.reason
                                 << "; the previous checkpoints are untouched");
}

}  // namespace

void write_checkpoint_file(const Checkpoint& checkpoint, const fs::path& file) {
  const std::vector<std::uint8_t> bytes = serialize(checkpoint);
  if (const std::optional<FileFailure> failure = write_file_atomically(file, bytes)) {
    fail_write(file, *failure);
  }
}

Checkpoint read_checkpoint_file(const fs::path& file) {
  std::vector<std::uint8_t> bytes;
  if (const std::optional<FileFailure> failure = read_whole_file(file, bytes)) {
    DDP_THROW(CheckpointError, file.string()
                                   << ": cannot " << failure->action << ": " << failure->reason);
  }
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
    const std::size_t marker = name.rfind(temporary_marker);
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
