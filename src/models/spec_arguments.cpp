#include "spec_arguments.hpp"

#include <algorithm>

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

std::map<std::string, std::int64_t> parse_key_values(const std::string& spec,
                                                     const std::string& text,
                                                     const std::vector<std::string>& keys,
                                                     const std::string& example) {
  std::string known;
  for (const std::string& key : keys) known += (known.empty() ? "" : ", ") + key;
  std::map<std::string, std::int64_t> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::size_t equals = item.find('=');
    const std::string key = item.substr(0, equals);
    const std::optional<std::vector<std::int64_t>> value =
        equals == std::string::npos ? std::nullopt
                                    : parse_positive_integers(item.substr(equals + 1));
    DDP_CHECK_OPTION(value.has_value() && value->size() == 1, "model", spec,
                     "'" << item << "' is not KEY=POSITIVE_INTEGER; e.g. " << example);
    DDP_CHECK_OPTION(std::find(keys.begin(), keys.end(), key) != keys.end(), "model", spec,
                     "unknown key '" << key << "'; the keys are " << known << ", e.g. " << example);
    DDP_CHECK_OPTION(values.emplace(key, value->front()).second, "model", spec,
                     "'" << key << "' is given twice; e.g. " << example);
    start = comma + 1;
  }
  return values;
}

std::int64_t require_key(const std::string& spec, const std::map<std::string, std::int64_t>& values,
                         const std::string& key, const std::string& example) {
  auto found = values.find(key);
  DDP_CHECK_OPTION(found != values.end(), "model", spec,
                   "'" << key << "' is missing; e.g. " << example);
  return found->second;
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
