#include "ddp/comm/backend.hpp"

#include <optional>
#include <sstream>
#include <vector>

#include "ddp/comm/runtime.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "nccl_process_group.hpp"

namespace ddp {
namespace {

// What a rank can do, agreed by a MIN over the ranks: any rank's error wins, then any rank's MPI.
enum Verdict : std::int32_t { kError = 0, kMpi = 1, kNccl = 2 };

// Why this rank cannot use NCCL, and what to do instead; empty when it can.
struct Refusal {
  std::string why;
  std::string instead = "use the mpi or auto backend";
};

std::optional<Refusal> why_not_nccl(const BackendContext& c) {
  if (!c.nccl_built) return Refusal{"this build of ddp has no CUDA or NCCL support"};
  if (!c.device.is_cuda()) {
    return Refusal{"NCCL all-reduces GPU tensors, and this rank's tensors are on the CPU"};
  }
  if (c.local_size > c.cuda_devices) {
    std::ostringstream why, instead;
    why << "the " << c.local_size << " ranks on this host share its " << c.cuda_devices
        << " GPU(s), and NCCL needs a GPU of its own for each rank";
    instead << "use the mpi backend (it stages GPU tensors through host memory) or start at "
            << "most " << c.cuda_devices << " rank(s) per host";
    return Refusal{why.str(), instead.str()};
  }
  return std::nullopt;
}

}  // namespace

std::string to_string(Backend backend) {
  switch (backend) {
    case Backend::automatic:
      return "auto";
    case Backend::mpi:
      return "mpi";
    case Backend::nccl:
      return "nccl";
  }
  return "?";
}

Backend choose_backend(Backend requested, const BackendContext& context) {
  if (requested == Backend::mpi) return Backend::mpi;
  std::optional<Refusal> refusal = why_not_nccl(context);
  if (requested == Backend::automatic) return refusal ? Backend::mpi : Backend::nccl;
  DDP_CHECK_OPTION(!refusal, "backend", "nccl", refusal->why << "; " << refusal->instead);
  return Backend::nccl;
}

BackendContext backend_context(const Runtime& runtime, const Device& device) {
  return {.device = device,
          .local_size = runtime.local_size(),
          .cuda_devices = kernels::cuda_device_count(),
          .nccl_built = kernels::cuda_built()};
}

std::shared_ptr<ProcessGroup> make_process_group(Runtime& runtime, Backend requested,
                                                 const Device& device) {
  ProcessGroup& world = *runtime.world();
  Backend choice = Backend::mpi;
  std::optional<InvalidOption> error;
  try {
    choice = choose_backend(requested, backend_context(runtime, device));
  } catch (const InvalidOption& refused) {
    error = refused;
  }
  // Every rank must take part in the same group, so the ranks agree before any of them builds one.
  std::int32_t mine = error ? kError : choice == Backend::nccl ? kNccl : kMpi;
  Tensor verdict = Tensor::from_vector(std::vector<std::int32_t>{mine}, {1});
  world.all_reduce(verdict, ReduceOp::min);
  std::int32_t agreed = verdict.data<std::int32_t>()[0];
  if (agreed == kError) {
    if (error) throw *error;
    DDP_CHECK_OPTION(false, "backend", to_string(requested),
                     "another rank cannot use it (its message says why); use the mpi backend");
  }
  if (agreed == kMpi) return runtime.world();
  return comm::make_nccl_process_group(world, device.index, "world/nccl");
}

}  // namespace ddp
