// The CUDA functions of a build without CUDA (DDP_WITH_CUDA=OFF, or no toolkit found): no device
// is ever usable, and no CUDA allocator is registered, so a CUDA tensor is an Error that says so.
#include "cuda_kernels.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_memory.hpp"
#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::kernels {
namespace {

constexpr const char* kNotBuilt =
    "this build of ddp has no CUDA support (configured with DDP_WITH_CUDA=OFF, or no CUDA toolkit "
    "and NCCL were found)";

}  // namespace

bool cuda_built() {
  return false;
}

int cuda_device_count() {
  return 0;
}

std::string cuda_unavailable_reason() {
  return kNotBuilt;
}

int cuda_device_for_local_rank(int local_rank) {
  DDP_THROW(Error, "no CUDA device for local rank " << local_rank << ": " << kNotBuilt);
}

void set_cuda_device(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

std::string cuda_device_description(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

void cuda_synchronize(int device) {
  DDP_THROW(Error, "cuda:" << device << ": " << kNotBuilt);
}

CudaMemoryStats cuda_memory_stats(int) {
  return {};
}

void cuda_empty_cache() {}

struct CudaEvent::Impl {};

CudaEvent::CudaEvent(int device) {
  DDP_THROW(Error, "an event on cuda:" << device << ": " << kNotBuilt);
}

CudaEvent::~CudaEvent() = default;

int CudaEvent::device() const {
  return 0;
}

void CudaEvent::record(CudaStream) {}

void CudaEvent::block(CudaStream) const {}

bool CudaEvent::query() const {
  return true;
}

void CudaEvent::synchronize() const {}

void* cuda_stream_handle(int device, CudaStream) {
  DDP_THROW(Error, "a stream of cuda:" << device << ": " << kNotBuilt);
}

void cuda_copy_async(void*, const void*, std::size_t, int device, CudaStream) {
  DDP_THROW(Error, "a copy on cuda:" << device << ": " << kNotBuilt);
}

void cuda_stream_synchronize(int device, CudaStream) {
  DDP_THROW(Error, "a stream of cuda:" << device << ": " << kNotBuilt);
}

namespace cuda {

void sgd_update(Tensor& param, const Tensor&, Tensor&, const SgdUpdate&) {
  DDP_THROW(Error, "sgd_update on " << to_string(param.device()) << ": " << kNotBuilt);
}

void adamw_update(Tensor& param, const Tensor&, Tensor&, Tensor&, const AdamwUpdate&) {
  DDP_THROW(Error, "adamw_update on " << to_string(param.device()) << ": " << kNotBuilt);
}

}  // namespace cuda

}  // namespace ddp::kernels
