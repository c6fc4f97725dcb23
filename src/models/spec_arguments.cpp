#include "spec_arguments.hpp"

#include <charconv>

#include "ddp/core/error.hpp"

namespace ddp::models::detail {

std::vector<std::int64_t> parse_positive_list(const std::string& spec, const std::string& text,
                                              const std::string& example) {
  std::vector<std::int64_t> values;
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  while (cursor <= end) {
    std::int64_t value = 0;
    auto [next, ec] = std::from_chars(cursor, end, value);
    DDP_CHECK_OPTION(ec == std::errc() && value > 0 && (next == end || *next == ','), "model", spec,
                     "expected positive integers separated by commas, e.g. " << example);
    values.push_back(value);
    cursor = next + 1;
  }
  return values;
}

std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1) {
    fields.push_back(text.substr(start, colon - start));
  }
  fields.push_back(text.substr(start));
  return fields;
}

}  // namespace ddp::models::detail
