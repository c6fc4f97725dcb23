// Which backend carries a job's collectives (auto, nccl or mpi), and the process group of all
// ranks it makes. The one way programs get the group their tensors use.
#pragma once

#include <memory>
#include <string>

#include "ddp/comm/process_group.hpp"
#include "ddp/core/device.hpp"

namespace ddp {

class Runtime;

enum class Backend { automatic, mpi, nccl };

// "auto", "mpi" or "nccl".
std::string to_string(Backend backend);

// What the rule looks at, as one rank sees its host.
struct BackendContext {
  Device device;            // where this rank's tensors (parameters, gradients) live
  int local_size = 1;       // ranks on this host (Runtime::local_size)
  int cuda_devices = 0;     // GPUs this process sees (kernels::cuda_device_count)
  bool nccl_built = false;  // this build has CUDA and NCCL (kernels::cuda_built)
};

// nccl or mpi, for requested:
//   automatic: nccl for tensors on a GPU when the build has NCCL and the host has a GPU per rank
//              (local_size <= cuda_devices), else mpi (which stages GPU tensors through pinned
//              host memory, so ranks may share a GPU);
//   nccl: nccl, or an InvalidOption ("backend") saying why not (no NCCL in the build, tensors
//         on the CPU, ranks sharing GPUs) and what to do instead;
//   mpi: mpi.
Backend choose_backend(Backend requested, const BackendContext& context);

// The context of this rank: runtime's local size, this process's GPUs, this build.
BackendContext backend_context(const Runtime& runtime, const Device& device);

// The group of all ranks for tensors on device (the CPU, or this rank's GPU:
// kernels::cuda_device_for_local_rank(runtime.local_rank())), on the backend choose_backend picks.
// Collective over runtime.world(): every rank calls it with the same requested, and all agree:
// under auto, one host whose ranks share GPUs puts the whole job on MPI; under nccl, every rank
// throws when any rank cannot use NCCL. "mpi" gives runtime.world() itself; "nccl" a new NCCL group
// named "world/nccl" whose Work::wait orders the GPU's compute stream instead of blocking the host.
std::shared_ptr<ProcessGroup> make_process_group(Runtime& runtime, Backend requested,
                                                 const Device& device);

}  // namespace ddp
