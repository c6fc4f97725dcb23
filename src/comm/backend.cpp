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
  std::string instead = "use --backend mpi or auto";
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
    instead << "use --backend mpi (it stages GPU tensors through host memory) or start at most "
            << c.cuda_devices << " rank(s) per host";
    return Refusal{why.str(), instead.str()};
  }
  return std::nullopt;
}

}  // namespace

std::string choose_backend(const std::string& requested, const BackendContext& context) {
  DDP_CHECK_ARG(requested == "auto" || requested == "nccl" || requested == "mpi",
                "--backend '" << requested << "': expected auto, nccl or mpi");
  if (requested == "mpi") return "mpi";
  std::optional<Refusal> refusal = why_not_nccl(context);
  if (requested == "auto") return refusal ? "mpi" : "nccl";
  DDP_CHECK_ARG(!refusal, "--backend nccl: " << refusal->why << "; " << refusal->instead);
  return "nccl";
}

BackendContext backend_context(const Runtime& runtime, const Device& device) {
  return {.device = device,
          .local_size = runtime.local_size(),
          .cuda_devices = kernels::cuda_device_count(),
          .nccl_built = kernels::cuda_built()};
}

std::shared_ptr<ProcessGroup> make_process_group(Runtime& runtime, const std::string& requested,
                                                 const Device& device) {
  ProcessGroup& world = *runtime.world();
  std::string choice;
  std::string error;
  try {
    choice = choose_backend(requested, backend_context(runtime, device));
  } catch (const InvalidArgument& refused) {
    error = refused.what();
  }
  // Every rank must take part in the same group, so the ranks agree before any of them builds one.
  std::int32_t mine = !error.empty() ? kError : choice == "nccl" ? kNccl : kMpi;
  Tensor verdict = Tensor::from_vector(std::vector<std::int32_t>{mine}, {1});
  world.all_reduce(verdict, ReduceOp::min);
  std::int32_t agreed = verdict.data<std::int32_t>()[0];
  if (agreed == kError) {
    if (!error.empty()) throw InvalidArgument(error);
    DDP_THROW(InvalidArgument, "--backend " << requested << ": another rank cannot use it (its "
                                            << "message says why); use --backend mpi");
  }
  if (agreed == kMpi) return runtime.world();
  return comm::make_nccl_process_group(world, device.index, "world/nccl");
}

}  // namespace ddp
