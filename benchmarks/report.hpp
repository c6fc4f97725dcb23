// Report: the table a benchmark prints, aligned for people or as CSV for scripts (--format).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ddp::bench {

enum class Format { table, csv };

// "table" or "csv"; anything else is an InvalidArgument naming --format.
Format parse_format(const std::string& name);

// A number with a fixed count of decimals: fixed(3.14159, 2) == "3.14".
std::string fixed(double value, int decimals);

class Report {
 public:
  explicit Report(std::vector<std::string> columns);
  void add_row(std::vector<std::string> cells);
  void print(std::ostream& out, Format format) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ddp::bench
