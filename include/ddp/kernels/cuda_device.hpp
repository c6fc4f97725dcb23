// The CUDA devices this process can use, and which one it works on. The same functions exist in a
// build without CUDA, where no device is ever usable, so callers need no #ifdef.
#pragma once

#include <cstdint>
#include <string>

namespace ddp::kernels {

// Whether this build of ddp has the CUDA kernels and allocator (DDP_WITH_CUDA found a toolkit).
bool cuda_built();

// How many CUDA devices this process can use: 0 without CUDA in the build, without a driver (the
// runtime's "CUDA driver version is insufficient") or with no device visible. Asked once, then
// remembered: devices do not come and go while a job runs.
int cuda_device_count();

// Why cuda_device_count() is 0, as a user should read it; empty when it is not.
std::string cuda_unavailable_reason();

// The GPU of a rank: its local rank modulo the devices it sees, so that the ranks of one host
// spread over its GPUs. An Error (with the reason) when there is none.
int cuda_device_for_local_rank(int local_rank);

// Makes device the current one of the calling thread (cudaSetDevice); an Error when it does not
// exist.
void set_cuda_device(int device);

// "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)": for the one line a program prints at start.
std::string cuda_device_description(int device);

// Waits until every copy and kernel issued to device's stream has finished.
void cuda_synchronize(int device);

// How many times this process's host has waited for a GPU so far: each stream or event
// synchronization and each copy the host reads at once. A training step outside a logging step
// should add none (docs/performance.md); 0 in a build without CUDA.
std::int64_t cuda_host_waits();

}  // namespace ddp::kernels
