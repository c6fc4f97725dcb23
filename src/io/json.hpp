// JSON for the io formats' headers (safetensors): a strict reader pulled value by value by a
// caller that knows what it expects, and string quoting for the writer. Only what such headers
// hold: objects, arrays, strings and non-negative integers; no true, false, null or fractions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::io {

// JSON that is malformed or not what the caller expected. The message names the value in the
// caller's words and the byte offset; the caller prefixes the file and rethrows its own error.
class JsonError : public Error {
 public:
  using Error::Error;
};

// Reads one JSON text front to back. The caller drives it with the shape it expects:
//   json.begin_object("header");
//   while (json.next_member(key, "header")) { ... read the member's value ... }
//   json.end("header");
// Every error is a JsonError "<what>: <problem> at byte <offset>[; <what to do>]". Strings are
// checked to be UTF-8 and unescaped (\uXXXX with surrogate pairs); numbers are plain digits.
class JsonReader {
 public:
  // Objects and arrays open at once, at most this deep: the caller's schema sets the real depth.
  static constexpr std::size_t max_depth = 16;

  // text: the JSON; first_offset: the offset of its first byte in the file, for messages.
  JsonReader(std::string_view text, std::size_t first_offset);

  // '{'; then call next_member until it returns false.
  void begin_object(std::string_view what);
  // The next member's key (with its ':' read), true; or false once the closing '}' is read.
  bool next_member(std::string& key, std::string_view what);
  // '['; then call next_element until it returns false.
  void begin_array(std::string_view what);
  // true when another element follows (read it next); false once the closing ']' is read.
  bool next_element(std::string_view what);

  std::string string(std::string_view what);
  // A non-negative integer in 64 bits: digits only, no sign, fraction, exponent or leading zero.
  std::uint64_t uint64(std::string_view what);

  // After the outermost value: nothing but whitespace may follow.
  void end(std::string_view what);

  // The file offset of the start of the last key next_member read, for messages about it.
  std::size_t key_offset() const { return first_offset_ + key_position_; }

 private:
  [[noreturn]] void fail(std::string_view what, const std::string& problem, std::size_t position,
                         std::string_view advice = {}) const;
  // What is at position, for "found ...": 'x', byte 0xNN, or the end of the text.
  std::string found(std::size_t position) const;
  void skip_whitespace();
  void expect(char c, std::string_view what, std::string_view expected);
  void open(char c, std::string_view what, std::string_view expected);

  std::string_view text_;
  std::size_t first_offset_;
  std::size_t position_ = 0;
  std::size_t key_position_ = 0;
  std::vector<bool> empty_so_far_;  // per open object or array: no member or element read yet
};

// text as a JSON string: quotes, backslashes and control characters escaped (\n, \u001f), all
// else as it is (UTF-8 stays UTF-8), the way serde_json writes it.
std::string json_quoted(std::string_view text);

// The offset of the first byte of text that is not part of valid UTF-8 (overlong forms, UTF-16
// surrogates and code points past U+10FFFF are invalid), or nullopt when all of it is.
std::optional<std::size_t> invalid_utf8_at(std::string_view text);

}  // namespace ddp::io
