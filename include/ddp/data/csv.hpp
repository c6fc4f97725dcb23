// Reading a classification dataset from CSV lines `label,f1,...,fk`, refusing malformed files.
#pragma once

#include <cstdint>
#include <string>

#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {

struct CsvOptions {
  // Labels must lie in [0, class_count), usually the model's output size; 0 takes max label + 1.
  std::int64_t class_count = 0;
  // Feature columns after the label, usually the model's input size; 0 takes the first line's.
  std::int64_t feature_count = 0;
};

// A first line whose first field is not an integer is a header and is skipped; CRLF line ends,
// blank lines and a missing final newline are fine. Any other problem is an InvalidArgument naming
// the file and line: "data.csv:17: expected 785 columns, found 784".
TensorDataset load_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace ddp::data
