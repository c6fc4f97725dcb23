// Whole files for the io formats (checkpoints, safetensors): written atomically and durably, read
// in one piece. Failures come back as values, so that each format words them in its own error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ddp::io {

// What could not be done to a file, and why.
struct FileFailure {
  std::string action;  // completes "cannot ...", e.g. "write", "create a temporary file for"
  std::string reason;  // the system's words, e.g. "No space left on device"
  bool replaced =
      false;  // the new file was already renamed over the old one (the folder sync failed)
};

// Marks temporary files: "<file><temporary_marker><pid>".
inline constexpr std::string_view temporary_marker = ".tmp.";

// The folder a file lives in ("." for a bare file name), for opening and messages.
std::filesystem::path folder_of(const std::filesystem::path& file);

// Writes bytes to file.tmp.<pid> in file's folder, fsyncs it, renames it over file and fsyncs the
// folder, so that a crash at any point leaves the previous file or the new one whole. Returns what
// failed, if anything; the temporary file is removed then. One temporary name per process: were
// two processes to write the same file, each renames a whole file of its own.
std::optional<FileFailure> write_file_atomically(const std::filesystem::path& file,
                                                 std::span<const std::uint8_t> bytes);

// Reads all of file (a regular file) into bytes; returns what failed, if anything. A file that
// shrinks while being read gives its shorter contents, for the format's parser to call truncated.
std::optional<FileFailure> read_whole_file(const std::filesystem::path& file,
                                           std::vector<std::uint8_t>& bytes);

}  // namespace ddp::io
