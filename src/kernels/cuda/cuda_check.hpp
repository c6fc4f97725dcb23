// CUDA plumbing private to src/kernels/cuda: error checks, each device's stream, a device guard.
#pragma once

#include <cuda_runtime.h>

#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::kernels::cuda {

// Throws ddp::Error naming the failed call and CUDA's own words for the error.
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);

// An Error, with the reason, unless device is one this process can use.
void check_device(int device);

// The one stream of a device: every copy and kernel for it runs there in issue order, so memory
// a tensor frees can be reused by the next allocation without waiting. Created on first use.
cudaStream_t stream(int device);

// The CUDA stream behind a CudaStream of device, and whether it has been made yet (the compute
// stream always counts as made).
cudaStream_t native_stream(int device, CudaStream stream);
bool has_stream(int device, CudaStream stream);

// Waits for a stream or an event, counted in cuda_host_waits().
void wait_for(cudaStream_t stream);
void wait_for(cudaEvent_t event);
// Counts a wait that another call makes (cudaFree, a blocking copy).
void count_host_wait();

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
