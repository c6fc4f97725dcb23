// The MPI backend's buffers in memory shared by the ranks of one node: collective_buffer, which
// its collectives then run on with shared_collectives instead of MPI, and node_shared_tensor.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "ddp/core/log.hpp"
#include "mpi_process_group.hpp"
#include "mpi_types.hpp"

namespace ddp::comm {
namespace {

// What rank 0 tells the others: the name of the object it made, or that it could not.
struct SharedName {
  char name[64] = {};
  int created = 0;
};

int all_agree(int mine, MPI_Comm comm) {
  int all = 0;
  check_mpi(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  return all;
}

bool one_node(MPI_Comm comm, int size) {
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  int node_size = 0;
  check_mpi(MPI_Comm_size(node, &node_size), "MPI_Comm_size");
  MPI_Comm_free(&node);
  return node_size == size;
}

}  // namespace

std::shared_ptr<SharedBuffers> MpiProcessGroup::map_collectively(const char* what,
                                                                 const Shape& shape, DType dtype,
                                                                 SharedBuffers::Layout layout) {
  const auto bytes = static_cast<std::size_t>(numel(shape)) * dtype_size(dtype);
  if (size_ == 1 || bytes == 0) return nullptr;
  std::shared_ptr<SharedBuffers> buffers;
  CollectiveInfo info{what, 0, dtype, numel(shape), -1, -1};
  enqueue(info, [&] { buffers = map_shared_buffers(bytes, layout); })->wait();
  return buffers;
}

Tensor MpiProcessGroup::collective_buffer(Shape shape, DType dtype) {
  std::shared_ptr<SharedBuffers> buffers =
      map_collectively("collective_buffer", shape, dtype, SharedBuffers::Layout::per_rank);
  if (!buffers) return ProcessGroup::collective_buffer(std::move(shape), dtype);
  {
    std::lock_guard lock(issue_mutex_);
    std::erase_if(shared_, [](const auto& weak) { return weak.expired(); });
    shared_.push_back(buffers);
  }
  void* data = buffers->buffer(rank_);  // a new mapping reads as zeros
  return Tensor::from_external(data, std::move(shape), dtype, std::move(buffers));
}

Tensor MpiProcessGroup::node_shared_tensor(Shape shape, DType dtype) {
  std::shared_ptr<SharedBuffers> buffers =
      map_collectively("node_shared_tensor", shape, dtype, SharedBuffers::Layout::common);
  if (!buffers) return ProcessGroup::node_shared_tensor(std::move(shape), dtype);
  // Not in shared_: a collective on this tensor is an ordinary one, not one on per-rank buffers.
  void* data = buffers->buffer(rank_);
  return Tensor::from_external(data, std::move(shape), dtype, std::move(buffers));
}

std::shared_ptr<SharedBuffers> MpiProcessGroup::shared_buffers_of(const Tensor& tensor) {
  std::lock_guard lock(issue_mutex_);
  for (const auto& weak : shared_) {
    auto buffers = weak.lock();
    if (buffers && buffers->holds(tensor.data_ptr(), tensor.nbytes())) return buffers;
  }
  return nullptr;
}

std::shared_ptr<SharedBuffers> MpiProcessGroup::map_shared_buffers(std::size_t bytes,
                                                                   SharedBuffers::Layout layout) {
  // Every step is agreed by all ranks, so that they all end on the same path whatever fails where.
  if (use_shared_memory_) use_shared_memory_ = one_node(comm_, size_);
  if (!all_agree(use_shared_memory_ ? 1 : 0, comm_)) return nullptr;

  SharedName shared;
  std::shared_ptr<SharedBuffers> buffers;
  std::string why;
  if (rank_ == 0) {
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    std::snprintf(shared.name, sizeof(shared.name), "/ddp-%d-%d-%lld", static_cast<int>(getpid()),
                  shared_mappings_++, static_cast<long long>(stamp % 1'000'000'000));
    try {
      buffers = std::make_shared<SharedBuffers>(shared.name, true, rank_, size_, bytes, layout);
      shared.created = 1;
    } catch (const Error& error) {
      why = error.what();
    }
  }
  check_mpi(MPI_Bcast(&shared, sizeof(shared), MPI_BYTE, 0, comm_), "MPI_Bcast");
  if (shared.created && rank_ != 0) {
    try {
      buffers = std::make_shared<SharedBuffers>(shared.name, false, rank_, size_, bytes, layout);
    } catch (const Error& error) {
      why = error.what();
    }
  }
  const bool everyone = all_agree(buffers ? 1 : 0, comm_) == 1;
  // Every rank has opened it (or given up): the name can go, the mappings stay.
  if (rank_ == 0 && shared.created) SharedBuffers::remove_name(shared.name);
  if (everyone) return buffers;
  if (!why.empty()) {
    DDP_WARN("group " << name_
                      << (layout == SharedBuffers::Layout::common
                              ? ": no tensor in shared memory, each rank keeps its own copy: "
                              : ": all-reduce through shared memory is off, MPI does it: ")
                      << why << " (/dev/shm too small? DDP_SHARED_MEMORY=0 silences this)");
  }
  return nullptr;
}

}  // namespace ddp::comm
