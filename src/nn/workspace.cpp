#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

Tensor Workspace::get(const Shape& shape, const Device& device, DType dtype) {
  const std::int64_t count = numel(shape);
  if (!storage_.defined() || storage_.dtype() != dtype || storage_.device() != device ||
      storage_.numel() < count) {
    storage_ = Tensor::empty({count}, dtype, device);
  }
  return storage_.view(0, shape);
}

}  // namespace ddp::nn
