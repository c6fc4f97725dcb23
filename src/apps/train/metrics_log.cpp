#include "metrics_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "ddp/core/error.hpp"

namespace ddp::train {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';  // control characters have no place in these values
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

JsonLine::JsonLine(const std::string& event) : text_("{\"event\": " + quoted(event)) {}

void JsonLine::add_key(const std::string& key) {
  text_ += ", " + quoted(key) + ": ";
}

JsonLine& JsonLine::add(const std::string& key, double value) {
  add_key(key);
  if (!std::isfinite(value)) {
    text_ += "null";  // JSON has no NaN or infinity
    return *this;
  }
  std::ostringstream number;
  number << std::setprecision(9) << value;
  text_ += number.str();
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, std::int64_t value) {
  add_key(key);
  text_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, const std::string& value) {
  add_key(key);
  text_ += quoted(value);
  return *this;
}

MetricsLog::MetricsLog(const std::string& path) {
  if (path.empty()) return;
  file_.open(path, std::ios::out | std::ios::trunc);
  DDP_CHECK_ARG(file_.is_open(), "--metrics-out " << path << ": cannot open for writing ("
                                                  << std::strerror(errno) << ")");
}

void MetricsLog::write(const JsonLine& line) {
  if (!file_.is_open()) return;
  file_ << line.str() << std::endl;
}

}  // namespace ddp::train
