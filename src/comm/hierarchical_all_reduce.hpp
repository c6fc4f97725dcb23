// The all-reduce of a gradient bucket across nodes in three steps: the node's ranks reduce it
// through shared memory, each into its own share (1/L of the bucket for L ranks per node); each
// rank all-reduces its share with the same local rank of every other node (so L exchanges cross
// the links at once, each of 1/L of the bucket); each rank copies the other shares from their
// owners. Every node must have the same number of ranks, so that local rank l's share is the same
// elements on every node.
#pragma once

#include "ddp/comm/process_group.hpp"
#include "shared_memory_transport.hpp"

namespace ddp::comm {

// tensor is this rank's collective buffer of node (in place); cross holds this local rank of every
// node; world_size divides an average. Blocking: runs on the composition's ordered thread.
void hierarchical_all_reduce(SharedMemoryTransport& node, ProcessGroup& cross, const Tensor& tensor,
                             ReduceOp op, int world_size);

}  // namespace ddp::comm
