// A device's streams and events as the communication layer sees them, without CUDA headers: each
// GPU has a compute stream (kernels, copies) and a communication stream (collectives), and events
// order one after the other. A build without CUDA has the same names; using them is an Error.
#pragma once

#include <cstddef>
#include <memory>

namespace ddp::kernels {

enum class CudaStream {
  compute,  // every kernel and tensor copy of the device, in issue order
  comm,     // collectives: apart from compute, so that they overlap it
  copy,     // copies from pinned host memory (batches): ordered with compute by events
};

// A point in a stream's work. Recording marks it; other streams or the host can then wait for
// everything issued before it.
class CudaEvent {
 public:
  // An event of device (cudaEventDisableTiming).
  explicit CudaEvent(int device);
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  int device() const;
  // Marks the work issued to stream (of this event's device) so far.
  void record(CudaStream stream);
  // Work issued to stream after this call starts only once the recorded work is done; the host
  // does not wait. A later record() does not affect this wait.
  void block(CudaStream stream) const;
  // Whether the recorded work is done (true for an event never recorded).
  bool query() const;
  // Blocks the calling thread until the recorded work is done.
  void synchronize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The stream as a cudaStream_t, for libraries that take one (NCCL). Created on first use.
void* cuda_stream_handle(int device, CudaStream stream);

// Copies bytes between any two of device's memory and host memory, in stream order on stream; the
// host does not wait (pinned host memory is copied asynchronously, pageable memory is not).
void cuda_copy_async(void* dst, const void* src, std::size_t bytes, int device, CudaStream stream);

// Blocks the calling thread until everything issued to stream has finished.
void cuda_stream_synchronize(int device, CudaStream stream);

}  // namespace ddp::kernels
