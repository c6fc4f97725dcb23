// CUDA plumbing private to src/kernels/cuda: error checks, each device's stream, a device guard.
#pragma once

#include <cuda_runtime.h>

namespace ddp::kernels::cuda {

// Throws ddp::Error naming the failed call and CUDA's own words for the error.
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);

// An Error, with the reason, unless device is one this process can use.
void check_device(int device);

// The one stream of a device: every copy and kernel for it runs there in issue order, so memory
// a tensor frees can be reused by the next allocation without waiting. Created on first use.
cudaStream_t stream(int device);

// Whether the calling thread has made a device current (set_cuda_device or a DeviceGuard).
extern thread_local bool thread_chose_device;

// Makes a device current for a scope and restores the previous one on the way out (on a thread
// that had chosen none, the device stays current).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace ddp::kernels::cuda

#define DDP_CUDA_CHECK(call)                                                               \
  do {                                                                                     \
    cudaError_t ddp_cuda_status_ = (call);                                                 \
    if (ddp_cuda_status_ != cudaSuccess)                                                   \
      ::ddp::kernels::cuda::throw_cuda_error(ddp_cuda_status_, #call, __FILE__, __LINE__); \
  } while (false)
