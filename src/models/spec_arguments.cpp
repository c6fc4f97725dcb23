#include "spec_arguments.hpp"

#include "ddp/core/error.hpp"
#include "ddp/core/integer_list.hpp"

namespace ddp::models::detail {

std::vector<std::int64_t> parse_positive_list(const std::string& spec, const std::string& text,
                                              const std::string& example) {
  std::optional<std::vector<std::int64_t>> values = parse_positive_integers(text);
  DDP_CHECK_OPTION(values.has_value(), "model", spec,
                   "expected positive integers separated by commas, e.g. " << example);
  return *values;
}

const Shape& image_shape(const std::string& spec, const BuildOptions& options) {
  DDP_CHECK_OPTION(options.sample_shape.size() == 3, "model", spec,
                   "takes images [channels, height, width]; the data's samples are "
                       << to_string(options.sample_shape)
                       << " (give IDX images, not flat CSV rows)");
  return options.sample_shape;
}

std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1) {
    fields.push_back(text.substr(start, colon - start));
  }
  fields.push_back(text.substr(start));
  return fields;
}

}  // namespace ddp::models::detail
