#include "report.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "ddp/core/error.hpp"

namespace ddp::bench {

Format parse_format(const std::string& name) {
  if (name == "table") return Format::table;
  if (name == "csv") return Format::csv;
  DDP_THROW(InvalidArgument, "--format '" << name << "' is not known; use table or csv");
}

std::string fixed(double value, int decimals) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(decimals) << value;
  return text.str();
}

Report::Report(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Report::add_row(std::vector<std::string> cells) {
  DDP_CHECK(cells.size() == columns_.size(),
            "report row has " << cells.size() << " cells for " << columns_.size() << " columns");
  rows_.push_back(std::move(cells));
}

void Report::print(std::ostream& out, Format format) const {
  if (format == Format::csv) {
    auto print_line = [&](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << cells[i];
      out << "\n";
    };
    print_line(columns_);
    for (const auto& row : rows_) print_line(row);
    return;
  }
  std::vector<std::size_t> widths;
  for (const auto& name : columns_) widths.push_back(name.size());
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out << (i ? "  " : "") << std::setw(static_cast<int>(widths[i])) << cells[i];
    }
    out << "\n";
  };
  print_line(columns_);
  for (const auto& row : rows_) print_line(row);
}

}  // namespace ddp::bench
