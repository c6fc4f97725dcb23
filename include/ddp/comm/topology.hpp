// How a CPU job's ranks lie on nodes, and which all-reduce crosses them. Runtime::world() composes
// its group from the topology: collectives within a node through shared memory, across nodes
// through MPI, gradient buckets all-reduced hierarchically (docs/design.md, "Transports").
#pragma once

#include <memory>
#include <string>

#include "ddp/comm/process_group.hpp"

namespace ddp {

// How an all-reduce of a collective_buffer crosses nodes. flat: one MPI_Allreduce over all ranks.
// hierarchical: reduce-scatter within the node through shared memory, all-reduce of each local
// rank's share with the same local rank of every other node (each link carries 1/L of the buffer
// per local rank, in parallel), all-gather within the node.
enum class AllReduceAlgorithm { automatic, flat, hierarchical };

// "auto", "flat", "hierarchical".
std::string to_string(AllReduceAlgorithm algorithm);
// DDP_ALLREDUCE: flat or hierarchical; unset or auto: automatic. Another value is an
// InvalidArgument that names it.
AllReduceAlgorithm all_reduce_algorithm_from_env();

// Where a composed group's ranks are, and what it does with them.
struct NodeLayout {
  int nodes = 1;
  int min_ranks_per_node = 1;
  int max_ranks_per_node = 1;
  // What an all-reduce of a collective_buffer does across nodes (flat on one node). automatic
  // takes hierarchical when the ranks span nodes, a node has more than one rank and every node has
  // as many; nodes of different sizes (1 + 2) take flat even when hierarchical is asked for, as a
  // local rank's share would differ from node to node.
  AllReduceAlgorithm across_nodes = AllReduceAlgorithm::flat;
  // Whether a node's ranks map collective buffers in memory they share (DDP_SHARED_MEMORY).
  bool shared_memory = false;
};

// "2 nodes x 2 ranks, shared memory within a node, hierarchical all-reduce across nodes".
std::string to_string(const NodeLayout& layout);

// The layout of a group Runtime::world() made (or one split or regrouped from it); an Error for
// other groups (NCCL's).
NodeLayout node_layout(const ProcessGroup& group);

// Collective over group (a group of Runtime::world()'s making): a group of the same ranks in which
// this rank's node is node (ranks passing the same number share one), all-reducing across nodes as
// algorithm says. A seam for tests and benchmarks: nodes emulated on one host still share memory
// within a node, and exchange across nodes through MPI.
std::shared_ptr<ProcessGroup> group_by_node(ProcessGroup& group, int node,
                                            AllReduceAlgorithm algorithm);

}  // namespace ddp
