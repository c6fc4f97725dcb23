// Argument checks shared by the CPU and CUDA kernels (private to src/kernels).
#pragma once

#include <cstdint>

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

// An Error unless out and in occupy disjoint bytes: a copy between layouts would read elements it
// has already overwritten.
inline void check_disjoint(const Tensor& in, const Tensor& out, const char* op) {
  if (!in.shares_storage_with(out) || in.nbytes() == 0 || out.nbytes() == 0) return;
  const auto in_begin = reinterpret_cast<std::uintptr_t>(in.data_ptr());
  const auto out_begin = reinterpret_cast<std::uintptr_t>(out.data_ptr());
  DDP_CHECK(in_begin + in.nbytes() <= out_begin || out_begin + out.nbytes() <= in_begin,
            op << ": the output of shape " << ddp::to_string(out.shape())
               << " overlaps the input of shape " << ddp::to_string(in.shape())
               << " in memory; write into a tensor of its own");
}

}  // namespace ddp::kernels::detail
