#include <atomic>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <vector>

#include "cuda_check.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"

namespace ddp::kernels {
namespace {

std::atomic<std::int64_t> host_waits{0};

struct Probe {
  int count = 0;
  std::string reason;  // why count is 0
};

const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    cudaError_t status = cudaGetDeviceCount(&p.count);
    if (status != cudaSuccess) {
      p.count = 0;
      p.reason = std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
      // The failed query leaves its error behind for the next runtime call to report.
      cudaGetLastError();
    } else if (p.count == 0) {
      const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
      p.reason = visible != nullptr ? "no CUDA device is visible (CUDA_VISIBLE_DEVICES='" +
                                          std::string(visible) + "')"
                                    : "no CUDA device is visible";
    }
    return p;
  }();
  return result;
}

struct Streams {
  std::mutex mutex;
  std::vector<cudaStream_t> by_device;  // nullptr until first used
};

Streams& streams() {
  // Never destroyed: kernels and frees may run during static destruction, after the CUDA runtime
  // itself may have been torn down; the driver releases the streams with the process.
  static Streams* all = new Streams;
  return *all;
}

}  // namespace

bool cuda_built() {
  return true;
}

int cuda_device_count() {
  return probe().count;
}

std::string cuda_unavailable_reason() {
  return probe().reason;
}

int cuda_device_for_local_rank(int local_rank) {
  DDP_CHECK(local_rank >= 0, "local rank " << local_rank << " is negative");
  int count = cuda_device_count();
  DDP_CHECK(count > 0, "no usable CUDA device for local rank " << local_rank << ": "
                                                               << cuda_unavailable_reason());
  return local_rank % count;
}

void set_cuda_device(int device) {
  cuda::check_device(device);
  DDP_CUDA_CHECK(cudaSetDevice(device));
  cuda::thread_chose_device = true;
}

std::string cuda_device_description(int device) {
  cuda::check_device(device);
  cudaDeviceProp properties{};
  DDP_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  std::ostringstream text;
  text << properties.name << " (sm_" << properties.major << properties.minor << ", "
       << (properties.totalGlobalMem >> 30) << " GiB)";
  return text.str();
}

void cuda_synchronize(int device) {
  cuda::DeviceGuard guard(device);
  cuda::wait_for(cuda::stream(device));
}

std::int64_t cuda_host_waits() {
  return host_waits.load(std::memory_order_relaxed);
}

namespace cuda {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // Clears a non-sticky error so that it is not reported again by an unrelated later call.
  cudaGetLastError();
  std::ostringstream message;
  message << call << " failed: " << cudaGetErrorString(status) << " (" << cudaGetErrorName(status)
          << ")";
  throw Error(message.str(), ddp::detail::source_location(file, line));
}

thread_local bool thread_chose_device = false;

void count_host_wait() {
  host_waits.fetch_add(1, std::memory_order_relaxed);
}

void wait_for(cudaStream_t stream) {
  count_host_wait();
  DDP_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void wait_for(cudaEvent_t event) {
  count_host_wait();
  DDP_CUDA_CHECK(cudaEventSynchronize(event));
}

void check_device(int device) {
  int count = cuda_device_count();
  DDP_CHECK(count > 0,
            "cuda:" << device << ": no usable CUDA device: " << cuda_unavailable_reason());
  DDP_CHECK(device >= 0 && device < count,
            "cuda:" << device << " does not exist: this process sees " << count
                    << " CUDA device(s), cuda:0 to cuda:" << count - 1);
}

cudaStream_t stream(int device) {
  check_device(device);
  Streams& all = streams();
  std::lock_guard lock(all.mutex);
  all.by_device.resize(static_cast<std::size_t>(cuda_device_count()), nullptr);
  cudaStream_t& s = all.by_device[static_cast<std::size_t>(device)];
  if (s == nullptr) {
    DeviceGuard guard(device);
    // Non-blocking: the legacy default stream, which other libraries may use, does not serialise
    // it.
    DDP_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  }
  return s;
}

DeviceGuard::DeviceGuard(int device) {
  check_device(device);
  DDP_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) {
    DDP_CUDA_CHECK(cudaSetDevice(device));
    // A thread that never chose a device reads 0 without a context there; restoring that "0" would
    // open one on GPU 0 for every rank of a multi-GPU host, so such a thread keeps this device.
    changed_ = thread_chose_device;
    thread_chose_device = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (changed_) cudaSetDevice(previous_);
}

}  // namespace cuda
}  // namespace ddp::kernels
