// The CUDA side of core's Allocator: a caching allocator over cudaMalloc, and copies between host
// and device that go through pinned staging buffers on the device's stream.
#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda_check.hpp"
#include "ddp/core/allocator.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/cuda_memory.hpp"

namespace ddp::kernels {
namespace {

// Blocks up to 1 MiB come in powers of two from 512 bytes, larger ones in multiples of 2 MiB: a
// training loop asks for the same sizes every step, so after the first step every request is a
// cache hit, and rounding wastes at most half of a small block or 2 MiB of a large one.
constexpr std::size_t kSmallLimit = std::size_t{1} << 20;
constexpr std::size_t kSmallQuantum = 512;
constexpr std::size_t kLargeQuantum = std::size_t{2} << 20;

// Two pinned buffers per device, so that the host fills one while the copy engine drains the other.
constexpr std::size_t kStagingBytes = std::size_t{4} << 20;

std::size_t size_class(std::size_t bytes) {
  if (bytes <= kSmallLimit) return std::max(kSmallQuantum, std::bit_ceil(bytes));
  return (bytes + kLargeQuantum - 1) / kLargeQuantum * kLargeQuantum;
}

struct DevicePool {
  std::mutex mutex;                                                 // guards free_blocks and stats
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // by size class
  CudaMemoryStats stats;

  std::mutex staging_mutex;  // one host copy at a time uses the staging buffers
  void* staging[2] = {nullptr, nullptr};
  cudaEvent_t staging_free[2] = {nullptr, nullptr};  // recorded after the copy that last used each

  std::mutex copy_mutex;  // one pinned copy at a time records the two events
  cudaEvent_t compute_issued = nullptr;
  cudaEvent_t copy_done = nullptr;
};

std::vector<std::unique_ptr<DevicePool>>& pools() {
  // Never destroyed, like the streams: tensors in static objects free their memory during static
  // destruction, and the driver gives everything back when the process ends.
  static auto* all = [] {
    auto* made = new std::vector<std::unique_ptr<DevicePool>>();
    for (int i = 0; i < cuda_device_count(); ++i) made->push_back(std::make_unique<DevicePool>());
    return made;
  }();
  return *all;
}

DevicePool& pool(int device) {
  cuda::check_device(device);
  return *pools()[static_cast<std::size_t>(device)];
}

// Empties a pool's cache and gives its blocks back to the driver. Only the taking holds the pool's
// lock: cudaFree waits for the whole device (so no kernel still queued uses a block when it goes),
// and other threads (the NCCL monitor's allocations among them) must not wait on the lock
// meanwhile.
std::size_t release_cached(DevicePool& pool, int device) {
  std::vector<void*> blocks;
  std::size_t released = 0;
  {
    std::lock_guard lock(pool.mutex);
    for (auto& [size, cached] : pool.free_blocks) {
      blocks.insert(blocks.end(), cached.begin(), cached.end());
      released += size * cached.size();
      cached.clear();
    }
    pool.stats.cached_bytes -= released;
  }
  cuda::DeviceGuard guard(device);
  if (!blocks.empty()) cuda::count_host_wait();
  for (void* block : blocks) DDP_CUDA_CHECK(cudaFree(block));
  return released;
}

bool is_pinned(const void* host) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, host) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

void ensure_staging(DevicePool& pool) {
  if (pool.staging[0] != nullptr) return;
  for (int i = 0; i < 2; ++i) {
    DDP_CUDA_CHECK(cudaHostAlloc(&pool.staging[i], kStagingBytes, cudaHostAllocDefault));
    DDP_CUDA_CHECK(cudaEventCreateWithFlags(&pool.staging_free[i], cudaEventDisableTiming));
  }
}

void ensure_copy_events(DevicePool& pool) {
  if (pool.copy_done != nullptr) return;
  DDP_CUDA_CHECK(cudaEventCreateWithFlags(&pool.compute_issued, cudaEventDisableTiming));
  DDP_CUDA_CHECK(cudaEventCreateWithFlags(&pool.copy_done, cudaEventDisableTiming));
}

void host_to_device(char* dst, int device, const char* src, std::size_t bytes) {
  DevicePool& p = pool(device);
  cuda::DeviceGuard guard(device);
  cudaStream_t s = cuda::stream(device);
  if (is_pinned(src)) {
    // On the copy stream, without a host wait: after the compute work issued so far (dst may be a
    // block that work still uses) and before the compute work issued next. The pinned allocator
    // reuses src's block only once the copy stream has passed it.
    cudaStream_t copy = cuda::native_stream(device, CudaStream::copy);
    std::lock_guard lock(p.copy_mutex);
    ensure_copy_events(p);
    DDP_CUDA_CHECK(cudaEventRecord(p.compute_issued, s));
    DDP_CUDA_CHECK(cudaStreamWaitEvent(copy, p.compute_issued, 0));
    DDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, copy));
    DDP_CUDA_CHECK(cudaEventRecord(p.copy_done, copy));
    DDP_CUDA_CHECK(cudaStreamWaitEvent(s, p.copy_done, 0));
    return;
  }
  std::lock_guard lock(p.staging_mutex);
  ensure_staging(p);
  for (std::size_t offset = 0, chunk = 0; offset < bytes; offset += kStagingBytes, ++chunk) {
    std::size_t n = std::min(kStagingBytes, bytes - offset);
    std::size_t b = chunk % 2;
    cuda::wait_for(p.staging_free[b]);
    std::memcpy(p.staging[b], src + offset, n);
    DDP_CUDA_CHECK(cudaMemcpyAsync(dst + offset, p.staging[b], n, cudaMemcpyHostToDevice, s));
    DDP_CUDA_CHECK(cudaEventRecord(p.staging_free[b], s));
  }
  // No wait here: src has been read in full, and later work on the stream runs after the copy.
}

void device_to_host(char* dst, const char* src, int device, std::size_t bytes) {
  DevicePool& p = pool(device);
  cuda::DeviceGuard guard(device);
  cudaStream_t s = cuda::stream(device);
  if (is_pinned(dst)) {
    DDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
    cuda::wait_for(s);
    return;
  }
  std::lock_guard lock(p.staging_mutex);
  ensure_staging(p);
  std::size_t chunks = (bytes + kStagingBytes - 1) / kStagingBytes;
  auto chunk_bytes = [&](std::size_t chunk) {
    return std::min(kStagingBytes, bytes - chunk * kStagingBytes);
  };
  auto issue = [&](std::size_t chunk) {
    std::size_t b = chunk % 2;
    DDP_CUDA_CHECK(cudaMemcpyAsync(p.staging[b], src + chunk * kStagingBytes, chunk_bytes(chunk),
                                   cudaMemcpyDeviceToHost, s));
    DDP_CUDA_CHECK(cudaEventRecord(p.staging_free[b], s));
  };
  issue(0);
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    // The next chunk's buffer was emptied into dst in the previous round.
    if (chunk + 1 < chunks) issue(chunk + 1);
    std::size_t b = chunk % 2;
    cuda::wait_for(p.staging_free[b]);
    std::memcpy(dst + chunk * kStagingBytes, p.staging[b], chunk_bytes(chunk));
  }
}

void device_to_device(void* dst, int dst_device, const void* src, int src_device,
                      std::size_t bytes) {
  if (dst_device == src_device) {
    cuda::DeviceGuard guard(dst_device);
    // In stream order, like a kernel: nothing on the host can see dst before a later host copy,
    // which runs after this one on the same stream.
    DDP_CUDA_CHECK(
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda::stream(dst_device)));
    return;
  }
  // Two streams: dst's earlier work (which may still read dst) must end before the copy, and the
  // copy before later work on either device.
  cuda_synchronize(dst_device);
  cuda::DeviceGuard guard(src_device);
  cudaStream_t s = cuda::stream(src_device);
  DDP_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, s));
  cuda::wait_for(s);
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes, const Device& device) override {
    DevicePool& p = pool(device.index);
    if (bytes == 0) return nullptr;
    std::size_t size = size_class(bytes);
    {
      std::lock_guard lock(p.mutex);
      p.stats.in_use_bytes += size;
      std::vector<void*>& cached = p.free_blocks[size];
      if (!cached.empty()) {
        void* block = cached.back();
        cached.pop_back();
        p.stats.cached_bytes -= size;
        ++p.stats.cache_hits;
        return block;
      }
    }
    void* block = nullptr;
    cuda::DeviceGuard guard(device.index);
    cudaError_t status = cudaMalloc(&block, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      const std::size_t released = release_cached(p, device.index);
      status = cudaMalloc(&block, size);
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        std::lock_guard lock(p.mutex);
        p.stats.in_use_bytes -= size;
        DDP_THROW(Error, "out of GPU memory on " << to_string(device) << " allocating " << bytes
                                                 << " bytes: " << p.stats.in_use_bytes
                                                 << " bytes are held by tensors, " << released
                                                 << " cached bytes were freed and did not suffice; "
                                                 << "use a smaller batch or model");
      }
    }
    std::lock_guard lock(p.mutex);
    if (status != cudaSuccess) p.stats.in_use_bytes -= size;
    DDP_CUDA_CHECK(status);
    ++p.stats.device_allocations;
    return block;
  }

  void deallocate(void* pointer, std::size_t bytes, const Device& device) override {
    if (pointer == nullptr) return;
    DevicePool& p = pool(device.index);
    std::size_t size = size_class(bytes);
    std::lock_guard lock(p.mutex);
    p.free_blocks[size].push_back(pointer);
    p.stats.in_use_bytes -= size;
    p.stats.cached_bytes += size;
  }

  void copy(void* dst, const Device& dst_device, const void* src, const Device& src_device,
            std::size_t bytes) override {
    if (bytes == 0) return;
    if (dst_device.is_cuda() && src_device.is_cuda()) {
      device_to_device(dst, dst_device.index, src, src_device.index, bytes);
    } else if (dst_device.is_cuda()) {
      host_to_device(static_cast<char*>(dst), dst_device.index, static_cast<const char*>(src),
                     bytes);
    } else {
      device_to_host(static_cast<char*>(dst), static_cast<const char*>(src), src_device.index,
                     bytes);
    }
  }

  void zero(void* pointer, std::size_t bytes, const Device& device) override {
    if (bytes == 0) return;
    cuda::DeviceGuard guard(device.index);
    DDP_CUDA_CHECK(cudaMemsetAsync(pointer, 0, bytes, cuda::stream(device.index)));
  }
};

Allocator& caching_allocator() {
  static auto* allocator = new CachingAllocator;
  return *allocator;
}

// Registered when libddp loads; nothing asks the driver anything until a CUDA tensor is made.
[[maybe_unused]] const bool registered = [] {
  register_allocator(Device::Kind::cuda, &caching_allocator());
  return true;
}();

}  // namespace

CudaMemoryStats cuda_memory_stats(int device) {
  DevicePool& p = pool(device);
  std::lock_guard lock(p.mutex);
  return p.stats;
}

void cuda_empty_cache() {
  for (int device = 0; device < cuda_device_count(); ++device) {
    release_cached(pool(device), device);
  }
}

}  // namespace ddp::kernels
