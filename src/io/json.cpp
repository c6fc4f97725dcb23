#include "json.hpp"

#include <algorithm>

#include "shown_name.hpp"

namespace ddp::io {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

std::string hex_byte(unsigned char byte) {
  return {'0', 'x', hex_digits[byte >> 4], hex_digits[byte & 0xF]};
}

// The length of the valid UTF-8 sequence starting at text[at], or 0 when it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong below U+0800
    if (lead == 0xED) second_max = 0x9F;  // U+D800..U+DFFF, UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong below U+10000
    if (lead == 0xF4) second_max = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  const auto second = static_cast<unsigned char>(text[at + 1]);
  if (second < second_min || second > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((static_cast<unsigned char>(text[at + i]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

JsonReader::JsonReader(std::string_view text, std::size_t first_offset)
    : text_(text), first_offset_(first_offset) {}

void JsonReader::fail(std::string_view what, const std::string& problem, std::size_t position,
                      std::string_view advice) const {
  DDP_THROW(JsonError, what << ": " << problem << " at byte " << first_offset_ + position
                            << (advice.empty() ? "" : "; ") << advice);
}

std::string JsonReader::found(std::size_t position) const {
  if (position >= text_.size()) return "the end of the JSON";
  const auto byte = static_cast<unsigned char>(text_[position]);
  if (byte >= 0x20 && byte < 0x7F) return std::string{'\'', text_[position], '\''};
  return "byte " + hex_byte(byte);
}

void JsonReader::skip_whitespace() {
  while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                      text_[position_] == '\n' || text_[position_] == '\r')) {
    ++position_;
  }
}

void JsonReader::expect(char c, std::string_view what, std::string_view expected) {
  skip_whitespace();
  if (position_ >= text_.size() || text_[position_] != c) {
    fail(what, "expected " + std::string(expected) + " but found " + found(position_), position_);
  }
  ++position_;
}

void JsonReader::open(char c, std::string_view what, std::string_view expected) {
  skip_whitespace();
  if (empty_so_far_.size() >= max_depth) {
    fail(what, "nesting deeper than " + std::to_string(max_depth) + " levels", position_);
  }
  expect(c, what, expected);
  empty_so_far_.push_back(true);
}

void JsonReader::begin_object(std::string_view what) {
  open('{', what, "an object ('{')");
}

void JsonReader::begin_array(std::string_view what) {
  open('[', what, "an array ('[')");
}

bool JsonReader::next_member(std::string& key, std::string_view what) {
  skip_whitespace();
  if (position_ < text_.size() && text_[position_] == '}') {
    ++position_;
    empty_so_far_.pop_back();
    return false;
  }
  if (!empty_so_far_.back()) {
    expect(',', what, "',' or '}'");
    skip_whitespace();
  }
  key_position_ = position_;
  if (position_ >= text_.size() || text_[position_] != '"') {
    fail(what, "expected a key (a string) but found " + found(position_), position_);
  }
  key = string(what);
  expect(':', what, "':' after key " + shown_name(key));
  empty_so_far_.back() = false;
  return true;
}

bool JsonReader::next_element(std::string_view what) {
  skip_whitespace();
  if (position_ < text_.size() && text_[position_] == ']') {
    ++position_;
    empty_so_far_.pop_back();
    return false;
  }
  if (!empty_so_far_.back()) expect(',', what, "',' or ']'");
  empty_so_far_.back() = false;
  return true;
}

std::string JsonReader::string(std::string_view what) {
  expect('"', what, "a string");
  const std::size_t start = position_ - 1;
  // Four hex digits at text_[at..at+4), or nullopt.
  const auto hex4 = [&](std::size_t at) -> std::optional<std::uint32_t> {
    if (text_.size() - std::min(at, text_.size()) < 4) return std::nullopt;
    std::uint32_t value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const char c = text_[i];
      const int digit = is_digit(c)              ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return value;
  };
  std::string out;
  while (true) {
    if (position_ >= text_.size()) fail(what, "unterminated string starting", start);
    const auto byte = static_cast<unsigned char>(text_[position_]);
    if (byte == '"') {
      ++position_;
      return out;
    }
    if (byte < 0x20) {
      fail(what, "control byte " + hex_byte(byte) + " inside a string", position_,
           "escape it (\\n, \\u0001)");
    }
    if (byte >= 0x80) {
      const std::size_t length = utf8_length(text_, position_);
      if (length == 0) {
        fail(what, "byte " + hex_byte(byte) + " that is not UTF-8 inside a string", position_);
      }
      out.append(text_.substr(position_, length));
      position_ += length;
      continue;
    }
    if (byte != '\\') {
      out += static_cast<char>(byte);
      ++position_;
      continue;
    }
    const std::size_t escape = position_;
    if (escape + 1 >= text_.size()) fail(what, "unterminated string starting", start);
    const char kind = text_[escape + 1];
    position_ = escape + 2;
    switch (kind) {
      case '"':
      case '\\':
      case '/':
        out += kind;
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'u':
        break;
      default:
        fail(what, "unknown escape \\" + found(escape + 1), escape,
             "JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    }
    const std::optional<std::uint32_t> unit = hex4(escape + 2);
    if (!unit) fail(what, "\\u without four hex digits", escape);
    std::uint32_t code_point = *unit;
    position_ = escape + 6;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
      fail(what, "lone low surrogate \\u" + std::string(text_.substr(escape + 2, 4)), escape,
           "it must follow a high one (\\uD800-\\uDBFF)");
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      const bool escaped_next =
          position_ + 1 < text_.size() && text_[position_] == '\\' && text_[position_ + 1] == 'u';
      const std::optional<std::uint32_t> low =
          escaped_next ? hex4(position_ + 2) : std::optional<std::uint32_t>();
      if (!low || *low < 0xDC00 || *low > 0xDFFF) {
        fail(what,
             "high surrogate \\u" + std::string(text_.substr(escape + 2, 4)) +
                 " without a low one after it",
             escape, "a pair is \\uD800-\\uDBFF then \\uDC00-\\uDFFF");
      }
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
      position_ += 6;
    }
    append_utf8(out, code_point);
  }
}

std::uint64_t JsonReader::uint64(std::string_view what) {
  skip_whitespace();
  const std::size_t start = position_;
  // The whole number-like token, for messages and to tell integers from other numbers.
  std::size_t end = start;
  while (end < text_.size() && (is_digit(text_[end]) || text_[end] == '-' || text_[end] == '+' ||
                                text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E')) {
    ++end;
  }
  constexpr std::size_t shown_chars = 32;
  const std::string token = std::string(text_.substr(start, std::min(end - start, shown_chars))) +
                            (end - start > shown_chars ? "..." : "");
  constexpr std::string_view integers_only = "sizes and offsets are non-negative integers";
  if (start < text_.size() && text_[start] == '-') {
    fail(what, "negative number " + token, start, integers_only);
  }
  std::size_t digits_end = start;
  while (digits_end < end && is_digit(text_[digits_end])) ++digits_end;
  if (digits_end == start) {
    fail(what, "expected a non-negative integer but found " + found(start), start);
  }
  if (digits_end != end) {
    fail(what, "number " + token + " that is not an integer", start,
         "sizes and offsets are whole numbers, without fraction or exponent");
  }
  if (text_[start] == '0' && end - start > 1) {
    fail(what, "number " + token + " with a leading zero", start, "JSON numbers have none");
  }
  std::uint64_t value = 0;
  for (std::size_t i = start; i < end; ++i) {
    if (__builtin_mul_overflow(value, std::uint64_t{10}, &value) ||
        __builtin_add_overflow(value, static_cast<std::uint64_t>(text_[i] - '0'), &value)) {
      fail(what, "number " + token + " past 2^64 - 1", start, integers_only);
    }
  }
  position_ = end;
  return value;
}

void JsonReader::end(std::string_view what) {
  skip_whitespace();
  if (position_ < text_.size()) {
    fail(what, "text after the JSON value: " + found(position_), position_,
         "only whitespace may follow it");
  }
}

std::string json_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out += hex_digits[byte >> 4];
          out += hex_digits[byte & 0xF];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
  return out;
}

std::optional<std::size_t> invalid_utf8_at(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_length(text, at);
    if (length == 0) return at;
    at += length;
  }
  return std::nullopt;
}

}  // namespace ddp::io
