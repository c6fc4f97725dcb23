// Argument checks shared by the CPU and CUDA kernels (private to src/kernels).
#pragma once

#include "ddp/core/error.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp::kernels::detail {

// An Error naming both devices unless t lives on device (that of the call's other tensors).
inline void check_on(const Tensor& t, const Device& device, const char* op) {
  DDP_CHECK(t.device() == device, op << ": a tensor on " << ddp::to_string(t.device())
                                     << " with one on " << ddp::to_string(device)
                                     << "; move them to one device first (Tensor::to)");
}

// The data of a tensor that must live on device.
template <typename T>
T* data_on(const Tensor& t, const Device& device, const char* op) {
  check_on(t, device, op);
  return t.data<T>();
}

// A float32 tensor in host memory; the dispatch sends CUDA tensors to the CUDA kernels before
// reaching this.
inline float* cpu_floats(const Tensor& t, const char* op) {
  return data_on<float>(t, Device::cpu(), op);
}

inline void check_same_numel(const Tensor& a, const Tensor& b, const char* op) {
  DDP_CHECK(a.numel() == b.numel(), op << ": tensors of shapes " << ddp::to_string(a.shape())
                                       << " and " << ddp::to_string(b.shape())
                                       << " differ in size");
}

}  // namespace ddp::kernels::detail
