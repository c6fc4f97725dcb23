#include "ddp/core/integer_list.hpp"

#include <charconv>

namespace ddp {

std::optional<std::vector<std::int64_t>> parse_positive_integers(std::string_view text) {
  std::vector<std::int64_t> values;
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  while (cursor <= end) {
    std::int64_t value = 0;
    auto [next, ec] = std::from_chars(cursor, end, value);
    if (ec != std::errc() || value <= 0 || (next != end && *next != ',')) return std::nullopt;
    values.push_back(value);
    cursor = next + 1;
  }
  return values;
}

}  // namespace ddp
