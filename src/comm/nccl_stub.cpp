// make_nccl_process_group in a build without CUDA and NCCL: make_process_group never picks NCCL
// there, so this is only reached by a caller that skipped it.
#include "ddp/core/error.hpp"
#include "nccl_process_group.hpp"

namespace ddp::comm {

std::shared_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup&, int device, std::string) {
  DDP_THROW(Error, "an NCCL process group on cuda:"
                       << device << ": this build of ddp has no CUDA or NCCL support; use the mpi "
                       << "backend");
}

}  // namespace ddp::comm
