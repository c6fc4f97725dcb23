#include "average.hpp"

namespace ddp::comm {
namespace {

template <typename T>
void divide(T* data, std::int64_t count, int divisor) {
  for (std::int64_t i = 0; i < count; ++i) data[i] /= static_cast<T>(divisor);
}

}  // namespace

void divide_by(const Tensor& tensor, int divisor) {
  if (tensor.dtype() == DType::float32) {
    return divide(tensor.data<float>(), tensor.numel(), divisor);
  }
  divide(tensor.data<double>(), tensor.numel(), divisor);
}

}  // namespace ddp::comm
