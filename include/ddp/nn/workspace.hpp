// Workspace: memory a module reuses from step to step for its outputs and gradients, so that a
// training step of fixed shapes allocates nothing after the first one.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::nn {

class Workspace {
 public:
  // A tensor of this shape on device over the kept storage, which grows (and only grows) when too
  // small, and moves when device changes. What an earlier call returned sees the same memory: it
  // is valid until the next call.
  Tensor get(const Shape& shape, const Device& device, DType dtype = DType::float32);

 private:
  Tensor storage_;
};

}  // namespace ddp::nn
