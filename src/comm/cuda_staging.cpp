#include "cuda_staging.hpp"

#include "ddp/kernels/cuda_device.hpp"

namespace ddp::comm {
namespace {

using kernels::CudaStream;

const char* begin_of(const Tensor& t) {
  return static_cast<const char*>(t.data_ptr());
}

// Whether inner's bytes lie within outer's (both non-empty, same dtype): then inner is a view of
// outer at element offset.
bool within(const Tensor& inner, const Tensor& outer, std::int64_t& offset) {
  if (!inner.defined() || !outer.defined() || inner.numel() == 0 || outer.numel() == 0) {
    return false;
  }
  const char* a = begin_of(inner);
  const char* b = begin_of(outer);
  if (a < b || a + inner.nbytes() > b + outer.nbytes() || inner.dtype() != outer.dtype()) {
    return false;
  }
  offset = (a - b) / static_cast<std::ptrdiff_t>(dtype_size(inner.dtype()));
  return true;
}

Tensor pinned_like(const Tensor& t) {
  return t.defined() ? Tensor::empty_pinned(t.shape(), t.dtype()) : Tensor();
}

}  // namespace

std::optional<int> gpu_of(const Tensor& input, const Tensor& output, const char* collective) {
  const Tensor& some = input.defined() ? input : output;
  DDP_CHECK(!input.defined() || !output.defined() || input.device() == output.device(),
            collective << ": input is on " << to_string(input.device()) << " and output on "
                       << to_string(output.device()) << "; put both on the same device");
  if (!some.defined() || some.device().is_cpu()) return std::nullopt;
  return some.device().index;
}

void run_staged(const kernels::CudaEvent& ready, const Tensor& input, const Tensor& output,
                Staging staging, const HostCollective& collective) {
  const int device = ready.device();
  // This runs on the group's thread, which must not allocate pinned memory (or query events)
  // without a device: that would open a context on GPU 0.
  kernels::set_cuda_device(device);
  // Host tensors with input's and output's overlap: the collective sees the same aliasing.
  Tensor host_input, host_output;
  std::int64_t offset = 0;
  if (within(input, output, offset)) {
    host_output = pinned_like(output);
    host_input = host_output.view(offset, input.shape());
  } else if (within(output, input, offset)) {
    host_input = pinned_like(input);
    host_output = host_input.view(offset, output.shape());
  } else {
    host_input = pinned_like(input);
    host_output = pinned_like(output);
  }
  ready.block(CudaStream::comm);
  if (staging.reads_input && input.defined()) {
    kernels::cuda_copy_async(host_input.data_ptr(), input.data_ptr(), input.nbytes(), device,
                             CudaStream::comm);
  }
  kernels::cuda_stream_synchronize(device, CudaStream::comm);
  collective(host_input, host_output);
  if (staging.writes_output && output.defined()) {
    kernels::cuda_copy_async(output.data_ptr(), host_output.data_ptr(), output.nbytes(), device,
                             CudaStream::comm);
    kernels::cuda_stream_synchronize(device, CudaStream::comm);
  }
}

}  // namespace ddp::comm
