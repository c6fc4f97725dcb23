// The MPI backend's path for tensors on a GPU: MPI reads and writes host memory, so a collective on
// device tensors runs on pinned host copies of them. Several ranks can so share one GPU, which
// NCCL refuses.
#pragma once

#include <functional>
#include <optional>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/cuda_stream.hpp"

namespace ddp::comm {

// The GPU that input and output (either may be undefined) live on; nullopt when both are host
// tensors; an Error when they are on different devices.
std::optional<int> gpu_of(const Tensor& input, const Tensor& output, const char* collective);

// What a collective touches on this rank: copies are made only of what it reads and writes.
struct Staging {
  bool reads_input = true;
  bool writes_output = true;
};

using HostCollective = std::function<void(const Tensor& input, const Tensor& output)>;

// On the collective's own thread: lets the communication stream wait for the compute-stream work
// before ready (the producer of input), copies input to pinned host memory, runs collective on host
// tensors (views of one buffer where input and output overlap, so in-place forms stay in place)
// and copies output back. Returns when output holds the result.
void run_staged(const kernels::CudaEvent& ready, const Tensor& input, const Tensor& output,
                Staging staging, const HostCollective& collective);

}  // namespace ddp::comm
