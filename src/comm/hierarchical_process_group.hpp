// HierarchicalProcessGroup: the CPU group a factory composes from the topology. Within a node the
// collectives on collective buffers (and the barrier) go through shared memory
// (SharedMemoryTransport); across nodes through MPI: flat over every rank, or for all-reduces of
// collective buffers hierarchically (hierarchical_all_reduce.hpp). Everything else is the MPI
// group's. Every step runs on the MPI group's thread, so the group keeps one issue order.
#pragma once

#include <memory>
#include <optional>

#include "ddp/comm/topology.hpp"
#include "mpi_process_group.hpp"
#include "shared_memory_transport.hpp"

namespace ddp::comm {

class HierarchicalProcessGroup final : public ProcessGroup {
 public:
  // Collective over all: splits it into this rank's node (the ranks passing the same node) and
  // its peers on the other nodes (the same rank within their node), and agrees on the layout.
  static std::shared_ptr<HierarchicalProcessGroup> create(std::shared_ptr<MpiProcessGroup> all,
                                                          int node, AllReduceAlgorithm requested);

  int rank() const override { return all_->rank(); }
  int size() const override { return all_->size(); }
  std::string backend() const override { return "mpi"; }
  const NodeLayout& layout() const { return layout_; }
  // The MPI group of every rank, for a regrouping.
  const std::shared_ptr<MpiProcessGroup>& all() const { return all_; }

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
  HierarchicalProcessGroup(std::shared_ptr<MpiProcessGroup> all, std::shared_ptr<ProcessGroup> node,
                           std::shared_ptr<ProcessGroup> cross, int node_index,
                           AllReduceAlgorithm requested, NodeLayout layout);
  // Whether a collective on tensor runs through shared memory: the ranks are on one node (or the
  // all-reduce is hierarchical) and tensor is in this rank's collective buffer.
  bool through_shared_memory(const Tensor& tensor) const;

  std::shared_ptr<ProcessGroup> node_;   // this node's ranks (MPI): agrees on mappings
  std::shared_ptr<ProcessGroup> cross_;  // this local rank on every node (MPI)
  int node_index_ = 0;                   // what this rank passed as its node
  AllReduceAlgorithm requested_ = AllReduceAlgorithm::automatic;
  NodeLayout layout_;
  std::optional<SharedMemoryTransport> shared_;  // when layout_.shared_memory
  // Last: destroyed first, so that its thread drains the steps that use the members above.
  std::shared_ptr<MpiProcessGroup> all_;
};

}  // namespace ddp::comm
