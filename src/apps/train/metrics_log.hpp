// The --metrics-out file: one JSON object per line, flushed as written, so a job that dies still
// leaves every record it reached.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace ddp::train {

// {"event": "summary", "samples_per_s": 7100.5, "ranks": 2}, built key by key in order.
class JsonLine {
 public:
  explicit JsonLine(const std::string& event);
  JsonLine& add(const std::string& key, double value);
  JsonLine& add(const std::string& key, std::int64_t value);
  JsonLine& add(const std::string& key, const std::string& value);
  std::string str() const { return text_ + "}"; }

 private:
  void add_key(const std::string& key);
  std::string text_;
};

class MetricsLog {
 public:
  // An empty path writes nothing; a path that cannot be opened is an InvalidArgument.
  explicit MetricsLog(const std::string& path);
  void write(const JsonLine& line);

 private:
  std::ofstream file_;
};

}  // namespace ddp::train
