// MpiProcessGroup: the ProcessGroup over an MPI communicator. Collectives run on the group's own
// background thread in issue order; a watchdog ends the job when one hangs; DDP_DEBUG=1 checks that
// every rank issued the same collective before running it. Tensors on a GPU go through pinned host
// copies (cuda_staging.hpp). MPI only: the shared memory of a node is SharedMemoryTransport's, and
// HierarchicalProcessGroup composes the two.
#pragma once

#include <mpi.h>

#include <functional>
#include <mutex>
#include <vector>

#include "collective_info.hpp"
#include "cuda_staging.hpp"
#include "ddp/comm/process_group.hpp"
#include "serial_executor.hpp"
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
  const std::string& name() const { return name_; }

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

  // This rank's node (the ranks passing the same node) and its peers on the other nodes (the same
  // rank within their node), with every rank's rank and size within its node.
  struct NodeSplit {
    std::shared_ptr<MpiProcessGroup> node;
    std::shared_ptr<MpiProcessGroup> peers;
    std::vector<int> local_ranks;  // per rank of this group
    std::vector<int> local_sizes;
  };
  // Collective. Part of making a composed group: it takes no sequence number, so that the first
  // collective a user issues is #0 whatever the group is made of.
  NodeSplit split_by_node(int node);

  // Numbers the collective in issue order and queues it; run executes it on the group's thread,
  // under its watchdog (and DDP_DEBUG's check). How a composition runs its own steps (another
  // transport's, another group's collectives) in one order with this group's.
  WorkPtr enqueue(CollectiveInfo info, std::function<void()> run);

 private:
  // As above for a collective on input and output: host tensors directly, tensors on a GPU through
  // pinned host copies, after the compute stream's work issued before this call.
  WorkPtr enqueue(CollectiveInfo info, Tensor input, Tensor output, Staging staging,
                  HostCollective run);
  // DDP_DEBUG: every rank compares what it is about to run; a mismatch is a CommError on all ranks.
  void check_same_collective(const CollectiveInfo& info);

  MPI_Comm comm_;
  std::string name_;
  int rank_ = 0;
  int size_ = 1;
  bool debug_ = false;
  std::mutex issue_mutex_;
  std::uint64_t next_sequence_ = 0;
  Watchdog watchdog_;
  SerialExecutor executor_;  // last: destroyed first, so queued work drains under the watchdog
};

}  // namespace ddp::comm
