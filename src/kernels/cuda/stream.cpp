// Streams and events for the communication layer (kernels/cuda_stream.hpp) over the CUDA runtime.
#include <mutex>
#include <vector>

#include "cuda_check.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::kernels {
namespace {

// The side streams (comm, copy) of every device, made on first use. Never destroyed, like the
// compute streams: collectives may still be freed at static destruction, and the driver releases
// the streams with the process.
struct SideStreams {
  std::mutex mutex;
  std::vector<cudaStream_t> by_device[2];  // comm, copy; nullptr until first used
};

SideStreams& side_streams() {
  static auto* all = new SideStreams;
  return *all;
}

std::vector<cudaStream_t>& side_of(SideStreams& all, CudaStream stream) {
  std::vector<cudaStream_t>& by_device = all.by_device[stream == CudaStream::comm ? 0 : 1];
  by_device.resize(static_cast<std::size_t>(cuda_device_count()), nullptr);
  return by_device;
}

cudaStream_t native(int device, CudaStream stream) {
  if (stream == CudaStream::compute) return cuda::stream(device);
  cuda::check_device(device);
  SideStreams& all = side_streams();
  std::lock_guard lock(all.mutex);
  cudaStream_t& s = side_of(all, stream)[static_cast<std::size_t>(device)];
  if (s == nullptr) {
    cuda::DeviceGuard guard(device);
    DDP_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  }
  return s;
}

}  // namespace

struct CudaEvent::Impl {
  int device = 0;
  cudaEvent_t event = nullptr;
};

CudaEvent::CudaEvent(int device) : impl_(std::make_unique<Impl>()) {
  cuda::DeviceGuard guard(device);
  impl_->device = device;
  DDP_CUDA_CHECK(cudaEventCreateWithFlags(&impl_->event, cudaEventDisableTiming));
}

CudaEvent::~CudaEvent() {
  cudaEventDestroy(impl_->event);
}

int CudaEvent::device() const {
  return impl_->device;
}

void CudaEvent::record(CudaStream stream) {
  cuda::DeviceGuard guard(impl_->device);
  DDP_CUDA_CHECK(cudaEventRecord(impl_->event, native(impl_->device, stream)));
}

void CudaEvent::block(CudaStream stream) const {
  cuda::DeviceGuard guard(impl_->device);
  DDP_CUDA_CHECK(cudaStreamWaitEvent(native(impl_->device, stream), impl_->event, 0));
}

bool CudaEvent::query() const {
  cudaError_t status = cudaEventQuery(impl_->event);
  if (status == cudaErrorNotReady) return false;
  DDP_CUDA_CHECK(status);
  return true;
}

void CudaEvent::synchronize() const {
  cuda::wait_for(impl_->event);
}

namespace cuda {

bool has_stream(int device, CudaStream stream) {
  if (stream == CudaStream::compute) return true;
  SideStreams& all = side_streams();
  std::lock_guard lock(all.mutex);
  return side_of(all, stream)[static_cast<std::size_t>(device)] != nullptr;
}

cudaStream_t native_stream(int device, CudaStream stream) {
  return native(device, stream);
}

}  // namespace cuda

void* cuda_stream_handle(int device, CudaStream stream) {
  return native(device, stream);
}

void cuda_copy_async(void* dst, const void* src, std::size_t bytes, int device, CudaStream stream) {
  if (bytes == 0) return;
  cuda::DeviceGuard guard(device);
  DDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, native(device, stream)));
}

void cuda_stream_synchronize(int device, CudaStream stream) {
  cuda::DeviceGuard guard(device);
  cuda::wait_for(native(device, stream));
}

}  // namespace ddp::kernels
