// compare_params A B RTOL [ATOL]: two parameter files of ddp-train --export-params agree when
// every element satisfies |a - b| <= RTOL * |b| + ATOL (ATOL 1e-7 unless given). Raw float32
// files compare element by element; two .safetensors files compare tensor by tensor under the
// same names (buffers too: BatchNorm's running statistics; integer tensors must be equal). Prints
// the largest differences; exit 0 when they agree, 1 when not, 2 when the files cannot be compared.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "ddp/io/safetensors.hpp"

namespace {

using Named = std::map<std::string, std::vector<double>>;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool read_floats(const char* path, Named& values) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() % sizeof(float) != 0) return false;
  std::vector<float> floats(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(floats.data()));
  values["parameters"].assign(floats.begin(), floats.end());
  return true;
}

template <typename T>
std::vector<double> widened(const ddp::Tensor& tensor) {
  const std::vector<T> elements = tensor.to_vector<T>();
  return {elements.begin(), elements.end()};
}

std::vector<double> as_doubles(const ddp::Tensor& tensor) {
  switch (tensor.dtype()) {
    case ddp::DType::float32:
      return widened<float>(tensor);
    case ddp::DType::float64:
      return widened<double>(tensor);
    case ddp::DType::int32:
      return widened<std::int32_t>(tensor);
    case ddp::DType::int64:
      return widened<std::int64_t>(tensor);
    default:
      throw ddp::InvalidArgument("compare_params reads float32, float64, int32 and int64 tensors");
  }
}

bool read_tensors(const char* path, Named& values) {
  try {
    for (const ddp::NamedTensor& named : ddp::io::read_safetensors(path).tensors) {
      values[named.name] = as_doubles(named.tensor);
    }
    return true;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return false;
  }
}

bool read(const char* path, Named& values) {
  return ends_with(path, ".safetensors") ? read_tensors(path, values) : read_floats(path, values);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s A B RTOL [ATOL]\n", argv[0]);
    return 2;
  }
  Named a, b;
  if (!read(argv[1], a) || !read(argv[2], b) || a.empty() || a.size() != b.size()) {
    std::fprintf(stderr, "cannot compare %s and %s: unreadable or of different contents\n", argv[1],
                 argv[2]);
    return 2;
  }
  const double rtol = std::atof(argv[3]);
  const double atol = argc == 5 ? std::atof(argv[4]) : 1e-7;
  double max_abs = 0, max_rel = 0;
  std::size_t elements = 0, failures = 0;
  std::string worst;
  for (const auto& [name, values] : a) {
    auto other = b.find(name);
    if (other == b.end() || other->second.size() != values.size()) {
      std::fprintf(stderr, "cannot compare %s and %s: '%s' is not in both with one size\n", argv[1],
                   argv[2], name.c_str());
      return 2;
    }
    const std::vector<double>& reference = other->second;
    for (std::size_t i = 0; i < values.size(); ++i, ++elements) {
      const double diff = std::fabs(values[i] - reference[i]);
      if (diff > max_abs) worst = name;
      max_abs = std::max(max_abs, diff);
      if (reference[i] != 0) max_rel = std::max(max_rel, diff / std::fabs(reference[i]));
      failures += diff > rtol * std::fabs(reference[i]) + atol;
    }
  }
  std::printf(
      "%zu tensors, %zu elements, max abs diff %.3g (%s), max rel diff %.3g, %zu beyond rtol %g "
      "atol %g\n",
      a.size(), elements, max_abs, worst.empty() ? "-" : worst.c_str(), max_rel, failures, rtol,
      atol);
  return failures == 0 ? 0 : 1;
}
