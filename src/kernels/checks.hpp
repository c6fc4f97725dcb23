// Argument checks shared by the CPU kernels (private to src/kernels).
#pragma once

#include "ddp/core/error.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp::kernels::detail {

// A float32 tensor in host memory; the CUDA build adds its own branch before reaching this.
inline float* cpu_floats(const Tensor& t, const char* op) {
  DDP_CHECK(t.device().is_cpu(),
            op << " on " << ddp::to_string(t.device()) << " needs the CUDA kernels");
  return t.data<float>();
}

inline void check_same_numel(const Tensor& a, const Tensor& b, const char* op) {
  DDP_CHECK(a.numel() == b.numel(), op << ": tensors of shapes " << ddp::to_string(a.shape())
                                       << " and " << ddp::to_string(b.shape())
                                       << " differ in size");
}

}  // namespace ddp::kernels::detail
