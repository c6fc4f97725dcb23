#include "ddp/core/dtype.hpp"

namespace ddp {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return 4;
    case DType::float64:
      return 8;
    case DType::int32:
      return 4;
    case DType::int64:
      return 8;
    case DType::bfloat16:
      return 2;
    case DType::float16:
      return 2;
  }
  return 0;
}

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return "float32";
    case DType::float64:
      return "float64";
    case DType::int32:
      return "int32";
    case DType::int64:
      return "int64";
    case DType::bfloat16:
      return "bfloat16";
    case DType::float16:
      return "float16";
  }
  return "unknown";
}

bool is_floating(DType dtype) {
  return dtype != DType::int32 && dtype != DType::int64;
}

}  // namespace ddp
