// A name read from a file (a tensor's, a metadata key), quoted for a one-line error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ddp::io {

// 'name' with control bytes escaped (\x0a) and names past 80 bytes cut ('...'...).
inline std::string shown_name(std::string_view name) {
  constexpr std::size_t shown_bytes = 80;
  std::string text = "'";
  for (std::size_t i = 0; i < name.size() && i < shown_bytes; ++i) {
    const auto byte = static_cast<unsigned char>(name[i]);
    if (byte < 0x20 || byte == 0x7F) {
      constexpr char hex[] = "0123456789abcdef";
      text += {'\\', 'x', hex[byte >> 4], hex[byte & 0xF]};
    } else {
      text += name[i];
    }
  }
  return text + (name.size() > shown_bytes ? "'..." : "'");
}

}  // namespace ddp::io
