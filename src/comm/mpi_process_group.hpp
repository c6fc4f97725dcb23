// MpiProcessGroup: the ProcessGroup over an MPI communicator. Collectives run on the group's own
// background thread in issue order; a watchdog ends the job when one hangs; DDP_DEBUG=1 checks that
// every rank issued the same collective before running it. Tensors on a GPU go through pinned host
// copies (cuda_staging.hpp).
#pragma once

#include <mpi.h>

#include <functional>
#include <mutex>
#include <vector>

#include "collective_info.hpp"
#include "cuda_staging.hpp"
#include "ddp/comm/process_group.hpp"
#include "serial_executor.hpp"
#include "shared_buffers.hpp"
#include "watchdog.hpp"

namespace ddp::comm {

class MpiProcessGroup final : public ProcessGroup {
 public:
  // Takes ownership of comm and frees it on destruction; name appears in error messages.
  MpiProcessGroup(MPI_Comm comm, std::string name);
  ~MpiProcessGroup() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  using ProcessGroup::all_reduce_async;
  WorkPtr all_reduce_async(Tensor input, Tensor output, ReduceOp op) override;
  WorkPtr broadcast_async(Tensor tensor, int root) override;
  WorkPtr all_gather_async(Tensor input, Tensor output) override;
  WorkPtr all_gatherv_async(Tensor input, Tensor output, Counts counts) override;
  WorkPtr gatherv_async(Tensor input, Tensor output, Counts counts, int root) override;
  WorkPtr scatterv_async(Tensor input, Tensor output, Counts counts, int root) override;
  WorkPtr reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) override;
  WorkPtr barrier_async() override;
  std::shared_ptr<ProcessGroup> split(int color, int key) override;
  Tensor collective_buffer(Shape shape, DType dtype) override;
  Tensor node_shared_tensor(Shape shape, DType dtype) override;

 private:
  // Numbers the collective in issue order and queues it; run executes it on the group's thread.
  WorkPtr enqueue(CollectiveInfo info, std::function<void()> run);
  // As above for a collective on input and output: host tensors directly, tensors on a GPU through
  // pinned host copies, after the compute stream's work issued before this call.
  WorkPtr enqueue(CollectiveInfo info, Tensor input, Tensor output, Staging staging,
                  HostCollective run);
  // Maps buffers of bytes each, laid out as layout says, in memory shared by the ranks (on the
  // group's thread); null on every rank when one cannot, with the reason logged once.
  std::shared_ptr<SharedBuffers> map_shared_buffers(std::size_t bytes,
                                                    SharedBuffers::Layout layout);
  // map_shared_buffers for a tensor of shape and dtype, queued as the collective what; null for a
  // group of one or no bytes.
  std::shared_ptr<SharedBuffers> map_collectively(const char* what, const Shape& shape, DType dtype,
                                                  SharedBuffers::Layout layout);
  // The shared buffers that hold tensor as this rank's, if any.
  std::shared_ptr<SharedBuffers> shared_buffers_of(const Tensor& tensor);
  // DDP_DEBUG: every rank compares what it is about to run; a mismatch is a CommError on all ranks.
  void check_same_collective(const CollectiveInfo& info);

  MPI_Comm comm_;
  std::string name_;
  int rank_ = 0;
  int size_ = 1;
  bool debug_ = false;
  std::mutex issue_mutex_;
  std::uint64_t next_sequence_ = 0;
  bool use_shared_memory_ = true;  // DDP_SHARED_MEMORY; cleared when the ranks span nodes
  // Touched on the group's thread only, except shared_ (under issue_mutex_).
  std::vector<std::weak_ptr<SharedBuffers>> shared_;
  std::uint32_t shared_sequence_ = 0;
  bool barrier_mapped_ = false;                     // whether barrier_buffers_ was tried
  std::shared_ptr<SharedBuffers> barrier_buffers_;  // counters only: where barriers meet
  int shared_mappings_ = 0;
  Watchdog watchdog_;
  SerialExecutor executor_;  // last: destroyed first, so queued work drains under the watchdog
};

}  // namespace ddp::comm
