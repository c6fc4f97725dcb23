// SharedMemoryTransport: the collectives of the ranks of one node through memory they all map
// (SharedBuffers), as gloo keeps an algorithm apart from its transport: each rank reads and writes
// every rank's buffer directly instead of copying through MPI. It maps the buffers (agreeing on
// each mapping through the node's MPI group, on the caller's thread) and runs the collectives on
// them; whoever owns it runs those on one thread, in the same order on every rank.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "shared_buffers.hpp"
#include "shared_collectives.hpp"

namespace ddp::comm {

struct SharedMemoryOptions {
  // DDP_SHARED_MEMORY: false maps nothing, so that MPI carries everything (a check of MPI's path,
  // or a /dev/shm too small to bother).
  bool enabled = true;
  // Names the group in the warning when a mapping fails.
  std::string name = "world";
};

class SharedMemoryTransport {
 public:
  // node: the ranks that share this node's memory, in the order of the buffers.
  SharedMemoryTransport(std::shared_ptr<ProcessGroup> node, SharedMemoryOptions options);

  int rank() const { return node_->rank(); }
  int size() const { return node_->size(); }

  // Collective over node: a zero-filled tensor in this rank's own buffer of a new mapping (the
  // collectives below run on it), or one tensor every rank maps; undefined where a mapping fails
  // on any rank (logged once), for one rank or no elements.
  Tensor collective_buffer(const Shape& shape, DType dtype);
  Tensor node_shared_tensor(const Shape& shape, DType dtype);

  // Whether tensor lies in this rank's buffer of a collective_buffer mapping.
  bool holds(const Tensor& tensor) const;
  // Whether the reductions take dtype and op (bfloat16: sum only, as the MPI backend).
  static bool supports(DType dtype, ReduceOp op);

  // Blocking, on the owner's ordered thread; tensors are held (holds()), and in place.
  void all_reduce(const Tensor& tensor, ReduceOp op);
  // tensor is size() equal blocks; rank r's block becomes op over the ranks of that block.
  void reduce_scatter(const Tensor& tensor, ReduceOp op);
  // tensor is size() equal blocks; block r comes from rank r.
  void all_gather(const Tensor& tensor);
  // The all-reduce in two halves: this rank's share (share()) reduced into its own buffer, then
  // every other share copied in from its owner's.
  void reduce_shares(const Tensor& tensor, ReduceOp op);
  void gather_shares(const Tensor& tensor);
  // The elements of a tensor of count elements that this rank reduces in those halves.
  Share share(std::int64_t count) const { return share_of(count, size(), rank()); }

  // Collective over node, on the caller's thread: maps the counters barrier() meets on, at the
  // first call; whether there are any.
  bool prepare_barrier();
  // On the ordered thread, after prepare_barrier() was true.
  void barrier();

 private:
  // Maps buffers of bytes each, agreed by every rank; null on every rank when one cannot.
  std::shared_ptr<SharedBuffers> map(std::size_t bytes, SharedBuffers::Layout layout);
  std::shared_ptr<SharedBuffers> buffers_of(const Tensor& tensor) const;
  std::int64_t offset_of(const SharedBuffers& buffers, const Tensor& tensor) const;

  std::shared_ptr<ProcessGroup> node_;
  SharedMemoryOptions options_;
  int mappings_ = 0;
  mutable std::mutex mutex_;  // guards collective_buffers_: mapped on one thread, used on another
  std::vector<std::weak_ptr<SharedBuffers>> collective_buffers_;
  std::uint32_t sequence_ = 0;  // the ordered thread's: numbers the collectives on the buffers
  bool barrier_prepared_ = false;
  std::shared_ptr<SharedBuffers> barrier_counters_;
};

}  // namespace ddp::comm
