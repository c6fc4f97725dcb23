#include "ddp/core/env.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "ddp/core/error.hpp"

namespace ddp::env {

std::optional<std::string> get(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string get_string(const char* name, const std::string& fallback) {
  return get(name).value_or(fallback);
}

long long get_int(const char* name, long long fallback) {
  auto value = get(name);
  if (!value) return fallback;
  long long parsed = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), parsed);
  DDP_CHECK_ARG(ec == std::errc() && end == value->data() + value->size(),
                "environment variable " << name << "='" << *value << "' is not an integer");
  return parsed;
}

double get_double(const char* name, double fallback) {
  auto value = get(name);
  if (!value) return fallback;
  char* end = nullptr;
  double parsed = std::strtod(value->c_str(), &end);
  DDP_CHECK_ARG(end == value->c_str() + value->size(),
                "environment variable " << name << "='" << *value << "' is not a number");
  return parsed;
}

bool get_bool(const char* name, bool fallback) {
  auto value = get(name);
  if (!value) return fallback;
  std::string lower = *value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
  DDP_THROW(InvalidArgument,
            "environment variable " << name << "='" << *value << "' is not a boolean; use 1 or 0");
}

}  // namespace ddp::env
