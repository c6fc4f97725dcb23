// Reading the arguments of a model spec ("32,64:512"), shared by the families' files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ddp/models/registry.hpp"

namespace ddp::models::detail {

// "784,128,10" -> {784, 128, 10}. Anything else (empty items, non-positive or non-numeric ones)
// is an InvalidOption ("model", spec) that shows `example`.
std::vector<std::int64_t> parse_positive_list(const std::string& spec, const std::string& text,
                                              const std::string& example);

// "layers=2,heads=4" -> {{"layers", 2}, {"heads", 4}}: each item KEY=VALUE with VALUE a positive
// integer and KEY one of `keys`, at most once. A malformed item, an unknown or repeated key is an
// InvalidOption ("model", spec) that names it and shows `example`; which keys are required is the
// family's to check (require_key).
std::map<std::string, std::int64_t> parse_key_values(const std::string& spec,
                                                     const std::string& text,
                                                     const std::vector<std::string>& keys,
                                                     const std::string& example);

// values[key], or an InvalidOption ("model", spec) saying that key is missing, with `example`.
std::int64_t require_key(const std::string& spec, const std::map<std::string, std::int64_t>& values,
                         const std::string& key, const std::string& example);

// The data's sample shape for a family of images: [channels, height, width], or an
// InvalidOption ("model", spec) saying the data is not images.
const Shape& image_shape(const std::string& spec, const BuildOptions& options);

// "32,64:512" -> {"32,64", "512"}: the text split at every ':'.
std::vector<std::string> split_fields(const std::string& text);

}  // namespace ddp::models::detail
