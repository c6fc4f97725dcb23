// ProcessGroup: the collectives every backend (MPI with shared memory, NCCL) offers over a set of
// ranks.
// Each collective has an async form returning Work and a blocking form that waits for it.
// Every rank of the group must issue the same collectives in the same order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddp/comm/reduce_op.hpp"
#include "ddp/comm/work.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp {

// Element counts per rank, for the v-collectives (all_gatherv, gatherv, scatterv).
using Counts = std::vector<std::int64_t>;

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "mpi" or "nccl".
  virtual std::string backend() const = 0;

  // Async forms. Tensors are held by the Work until it completes; the caller must not touch their
  // elements before then. Passing the same tensor as input and output reduces in place.

  // output[i] = op over ranks of input[i]; input and output have the same dtype and element count.
  virtual WorkPtr all_reduce_async(Tensor input, Tensor output, ReduceOp op) = 0;
  virtual WorkPtr broadcast_async(Tensor tensor, int root) = 0;
  // output = the inputs of ranks 0..size-1 concatenated; every input has input.numel() elements.
  // In place when input is rank()'s block of output.
  virtual WorkPtr all_gather_async(Tensor input, Tensor output) = 0;
  // As all_gather, rank r contributing counts[r] elements.
  virtual WorkPtr all_gatherv_async(Tensor input, Tensor output, Counts counts) = 0;
  // As all_gather(v), but only root receives; output is ignored on the other ranks.
  virtual WorkPtr gatherv_async(Tensor input, Tensor output, Counts counts, int root) = 0;
  // Root's input cut into blocks of counts[r] elements; rank r receives block r in output.
  virtual WorkPtr scatterv_async(Tensor input, Tensor output, Counts counts, int root) = 0;
  // input holds size() blocks of output.numel() elements; rank r gets op over ranks of block r.
  // In place when output is rank()'s block of input; input's other blocks are then undefined.
  virtual WorkPtr reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) = 0;
  virtual WorkPtr barrier_async() = 0;

  // A zero-filled host tensor for this group's in-place all-reduces to work on, placed where they
  // are cheapest: the CPU group (topology.hpp) puts it in memory that the ranks of one node share,
  // where an all-reduce costs each rank two passes over the data instead of MPI's copies, and
  // across nodes the hierarchical all-reduce starts and ends there. Collective: every rank calls
  // it, in the same order, with the same shape and dtype. Plain host memory when the group spans
  // nodes with the flat all-reduce (or DDP_SHARED_MEMORY=0, or /dev/shm has no room).
  virtual Tensor collective_buffer(Shape shape, DType dtype);
  // One zero-filled host tensor that every rank of this group maps at the same memory, so that a
  // write by any rank is every rank's (a replica the ranks need only one copy of), or an undefined
  // tensor on every rank where they share no memory: a group spanning nodes, DDP_SHARED_MEMORY=0,
  // a full /dev/shm, the NCCL backend. Plain host memory for a group of one or no elements.
  // Collective. Order a rank's writes before its peers' reads with barrier().
  virtual Tensor node_shared_tensor(Shape shape, DType dtype);

  // A new group of the ranks that pass the same color, ordered by key (then by rank); ranks passing
  // a negative color take part in the split but get nullptr. Collective over this group.
  virtual std::shared_ptr<ProcessGroup> split(int color, int key) = 0;

  // Blocking and convenience forms.
  WorkPtr all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::sum);
  WorkPtr gather_async(Tensor input, Tensor output, int root);
  WorkPtr scatter_async(Tensor input, Tensor output, int root);
  void all_reduce(Tensor tensor, ReduceOp op = ReduceOp::sum);
  void all_reduce(Tensor input, Tensor output, ReduceOp op);
  void broadcast(Tensor tensor, int root);
  void all_gather(Tensor input, Tensor output);
  void all_gatherv(Tensor input, Tensor output, Counts counts);
  void gather(Tensor input, Tensor output, int root);
  void gatherv(Tensor input, Tensor output, Counts counts, int root);
  void scatter(Tensor input, Tensor output, int root);
  void scatterv(Tensor input, Tensor output, Counts counts, int root);
  void reduce_scatter(Tensor input, Tensor output, ReduceOp op = ReduceOp::sum);
  void barrier();
};

}  // namespace ddp
