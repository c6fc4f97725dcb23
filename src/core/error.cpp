#include "ddp/core/error.hpp"

#include <string_view>

namespace ddp {

Error::Error(std::string message, std::string where)
    : std::runtime_error(std::move(message)), where_(std::move(where)) {}

InvalidOption::InvalidOption(std::string option, std::string value, std::string reason,
                             std::string where)
    : InvalidArgument(option + " '" + value + "': " + reason, std::move(where)),
      option_(std::move(option)),
      value_(std::move(value)),
      reason_(std::move(reason)) {}

namespace detail {

std::string source_location(const char* file, int line) {
  std::string_view path(file);
  // Keep the path from the project's own folders on, not the build machine's absolute path.
  for (std::string_view top : {"/src/", "/include/", "/tests/", "/benchmarks/"}) {
    if (auto pos = path.rfind(top); pos != std::string_view::npos) {
      path = path.substr(pos + 1);
      break;
    }
  }
  return std::string(path) + ":" + std::to_string(line);
}

}  // namespace detail
}  // namespace ddp
