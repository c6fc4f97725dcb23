#include "ddp/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::data {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    std::size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// from_chars refuses a leading '+', which spreadsheets sometimes write.
std::string_view skip_plus(std::string_view text) {
  return text.size() > 1 && text.front() == '+' ? text.substr(1) : text;
}

template <typename T>
bool parse_whole(std::string_view text, T& value) {
  text = skip_plus(text);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

bool is_number(std::string_view text) {
  double value = 0;
  text = skip_plus(text);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ptr == end && !text.empty() && ec != std::errc::invalid_argument;
}

}  // namespace

TensorDataset load_csv(const std::string& path, const CsvOptions& options) {
  DDP_CHECK_ARG(options.class_count >= 0 && options.feature_count >= 0,
                path << ": class count " << options.class_count << " and feature count "
                     << options.feature_count << " must not be negative");
  DDP_CHECK_ARG(!std::filesystem::is_directory(path), path << ": is a folder; give a CSV file");
  std::ifstream file(path, std::ios::binary);
  if (!file) DDP_THROW(InvalidArgument, path << ": cannot open (" << std::strerror(errno) << ")");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) DDP_THROW(InvalidArgument, path << ": read failed");
  // Spreadsheets may start the file with a UTF-8 byte order mark; it would hide the first label.
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);

  std::int64_t columns = options.feature_count > 0 ? options.feature_count + 1 : 0;
  std::vector<float> features;
  std::vector<std::int64_t> labels;
  std::int64_t max_label = -1;
  bool header_seen = false, first_line = true;
  std::int64_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t newline = text.find('\n', start);
    if (newline == std::string::npos) newline = text.size();
    std::string_view line(text.data() + start, newline - start);
    start = newline + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;

    const std::vector<std::string_view> fields = split_fields(line);
    const auto found = static_cast<std::int64_t>(fields.size());
    const bool header = first_line && !is_number(fields[0]);
    first_line = false;
    if (columns == 0) columns = found;
    if (columns < 2) {
      DDP_THROW(InvalidArgument, path << ":" << line_number
                                      << ": expected a label and at least one feature, found "
                                      << found << " column");
    }
    if (found != columns) {
      DDP_THROW(InvalidArgument, path << ":" << line_number << ": expected " << columns
                                      << " columns, found " << found);
    }
    if (header) {
      header_seen = true;
      continue;
    }
    std::int64_t label = 0;
    if (!parse_whole(fields[0], label)) {
      DDP_THROW(InvalidArgument,
                path << ":" << line_number << ": label '" << fields[0] << "' is not an integer");
    }
    if (label < 0 || (options.class_count > 0 && label >= options.class_count)) {
      DDP_THROW(InvalidArgument,
                path << ":" << line_number << ": label " << label << " outside [0, "
                     << (options.class_count > 0 ? std::to_string(options.class_count) : "inf")
                     << ")");
    }
    labels.push_back(label);
    max_label = std::max(max_label, label);
    for (std::size_t column = 1; column < fields.size(); ++column) {
      float value = 0;
      if (!parse_whole(fields[column], value) || !std::isfinite(value)) {
        DDP_THROW(InvalidArgument, path << ":" << line_number << ": '" << fields[column]
                                        << "' is not a "
                                        << (is_number(fields[column]) ? "finite " : "")
                                        << "number (column " << column + 1 << ")");
      }
      features.push_back(value);
    }
  }
  if (labels.empty()) {
    DDP_THROW(InvalidArgument,
              path << (header_seen ? ": no samples after the header line" : ": empty file"));
  }
  const auto n = static_cast<std::int64_t>(labels.size());
  return TensorDataset(Tensor::from_vector(features, {n, columns - 1}),
                       Tensor::from_vector(labels, {n}),
                       options.class_count > 0 ? options.class_count : max_label + 1);
}

}  // namespace ddp::data
