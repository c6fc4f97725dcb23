#include "hierarchical_process_group.hpp"

#include <algorithm>
#include <atomic>

#include "collective_checks.hpp"
#include "ddp/core/env.hpp"
#include "ddp/core/log.hpp"
#include "hierarchical_all_reduce.hpp"

namespace ddp::comm {
namespace {

// What a layout's algorithm across nodes is, for what was asked.
AllReduceAlgorithm across_nodes(const NodeLayout& layout, AllReduceAlgorithm requested) {
  const bool can = layout.nodes > 1 && layout.max_ranks_per_node > 1 &&
                   layout.min_ranks_per_node == layout.max_ranks_per_node;
  return can && requested != AllReduceAlgorithm::flat ? AllReduceAlgorithm::hierarchical
                                                      : AllReduceAlgorithm::flat;
}

bool is_block_of(const Tensor& block, const Tensor& whole, int rank) {
  return static_cast<const char*>(block.data_ptr()) ==
         static_cast<const char*>(whole.data_ptr()) +
             static_cast<std::size_t>(rank) * block.nbytes();
}

}  // namespace

std::shared_ptr<HierarchicalProcessGroup> HierarchicalProcessGroup::create(
    std::shared_ptr<MpiProcessGroup> all, int node, AllReduceAlgorithm requested) {
  const int rank = all->rank();
  MpiProcessGroup::NodeSplit split = all->split_by_node(node);
  NodeLayout layout{.nodes = 0, .min_ranks_per_node = all->size(), .max_ranks_per_node = 0};
  for (int r = 0; r < all->size(); ++r) {
    layout.nodes += split.local_ranks[r] == 0 ? 1 : 0;
    layout.min_ranks_per_node = std::min(layout.min_ranks_per_node, split.local_sizes[r]);
    layout.max_ranks_per_node = std::max(layout.max_ranks_per_node, split.local_sizes[r]);
  }
  layout.across_nodes = across_nodes(layout, requested);
  static std::atomic<bool> warned{false};  // once a process: every split would say it again
  if (requested == AllReduceAlgorithm::hierarchical &&
      layout.across_nodes != AllReduceAlgorithm::hierarchical && rank == 0 && layout.nodes > 1 &&
      layout.max_ranks_per_node > 1 && !warned.exchange(true)) {
    DDP_WARN("the hierarchical all-reduce needs as many ranks on every node, and these have "
             << layout.min_ranks_per_node << " to " << layout.max_ranks_per_node
             << ": the flat MPI all-reduce runs instead");
  }
  // Collective buffers in shared memory only where a shared-memory step uses them.
  layout.shared_memory =
      env::get_bool("DDP_SHARED_MEMORY", true) && split.node->size() > 1 &&
      (layout.nodes == 1 || layout.across_nodes == AllReduceAlgorithm::hierarchical);
  return std::shared_ptr<HierarchicalProcessGroup>(new HierarchicalProcessGroup(
      std::move(all), std::move(split.node), std::move(split.peers), node, requested, layout));
}

HierarchicalProcessGroup::HierarchicalProcessGroup(std::shared_ptr<MpiProcessGroup> all,
                                                   std::shared_ptr<ProcessGroup> node,
                                                   std::shared_ptr<ProcessGroup> cross,
                                                   int node_index, AllReduceAlgorithm requested,
                                                   NodeLayout layout)
    : node_(std::move(node)),
      cross_(std::move(cross)),
      node_index_(node_index),
      requested_(requested),
      layout_(layout),
      all_(std::move(all)) {
  if (layout_.shared_memory) shared_.emplace(node_, SharedMemoryOptions{.name = all_->name()});
}

bool HierarchicalProcessGroup::through_shared_memory(const Tensor& tensor) const {
  return shared_ && shared_->holds(tensor);
}

WorkPtr HierarchicalProcessGroup::all_reduce_async(Tensor input, Tensor output, ReduceOp op) {
  if (input.data_ptr() != output.data_ptr() || !through_shared_memory(output) ||
      !SharedMemoryTransport::supports(output.dtype(), op)) {
    return all_->all_reduce_async(std::move(input), std::move(output), op);
  }
  check_all_reduce(input, output, op);
  CollectiveInfo info{"all_reduce", 0, output.dtype(), output.numel(), -1, static_cast<int>(op)};
  if (layout_.nodes == 1) {
    return all_->enqueue(info, [this, output, op] { shared_->all_reduce(output, op); });
  }
  return all_->enqueue(
      info, [this, output, op] { hierarchical_all_reduce(*shared_, *cross_, output, op, size()); });
}

WorkPtr HierarchicalProcessGroup::reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) {
  // Across nodes the blocks belong to ranks of every node: MPI's.
  if (layout_.nodes > 1 || !through_shared_memory(input) ||
      !SharedMemoryTransport::supports(output.dtype(), op)) {
    return all_->reduce_scatter_async(std::move(input), std::move(output), op);
  }
  check_reduce_scatter(input, output, op, size());
  if (!is_block_of(output, input, rank())) {
    return all_->reduce_scatter_async(std::move(input), std::move(output), op);
  }
  CollectiveInfo info{"reduce_scatter", 0,  output.dtype(),
                      output.numel(),   -1, static_cast<int>(op)};
  return all_->enqueue(info, [this, input, op] { shared_->reduce_scatter(input, op); });
}

WorkPtr HierarchicalProcessGroup::all_gather_async(Tensor input, Tensor output) {
  if (layout_.nodes > 1 || !through_shared_memory(output)) {
    return all_->all_gather_async(std::move(input), std::move(output));
  }
  check_all_gather(input, output, size());
  if (!is_block_of(input, output, rank())) {
    return all_->all_gather_async(std::move(input), std::move(output));
  }
  CollectiveInfo info{"all_gather", 0, input.dtype(), input.numel(), -1, -1};
  return all_->enqueue(info, [this, output] { shared_->all_gather(output); });
}

WorkPtr HierarchicalProcessGroup::barrier_async() {
  // On one node the ranks meet on shared counters (measured faster than MPI_Barrier's polling
  // between a sharded optimizer's updates), mapped at the first barrier.
  if (layout_.nodes > 1 || !shared_ || !shared_->prepare_barrier()) return all_->barrier_async();
  CollectiveInfo info{"barrier", 0, DType::int32, 0, -1, -1};
  return all_->enqueue(info, [this] { shared_->barrier(); });
}

WorkPtr HierarchicalProcessGroup::broadcast_async(Tensor tensor, int root) {
  return all_->broadcast_async(std::move(tensor), root);
}

WorkPtr HierarchicalProcessGroup::all_gatherv_async(Tensor input, Tensor output, Counts counts) {
  return all_->all_gatherv_async(std::move(input), std::move(output), std::move(counts));
}

WorkPtr HierarchicalProcessGroup::gatherv_async(Tensor input, Tensor output, Counts counts,
                                                int root) {
  return all_->gatherv_async(std::move(input), std::move(output), std::move(counts), root);
}

WorkPtr HierarchicalProcessGroup::scatterv_async(Tensor input, Tensor output, Counts counts,
                                                 int root) {
  return all_->scatterv_async(std::move(input), std::move(output), std::move(counts), root);
}

std::shared_ptr<ProcessGroup> HierarchicalProcessGroup::split(int color, int key) {
  auto child = std::static_pointer_cast<MpiProcessGroup>(all_->split(color, key));
  if (!child) return nullptr;
  return create(std::move(child), node_index_, requested_);
}

Tensor HierarchicalProcessGroup::collective_buffer(Shape shape, DType dtype) {
  if (shared_) {
    Tensor buffer = shared_->collective_buffer(shape, dtype);
    if (buffer.defined()) return buffer;
  }
  return ProcessGroup::collective_buffer(std::move(shape), dtype);
}

Tensor HierarchicalProcessGroup::node_shared_tensor(Shape shape, DType dtype) {
  // Across nodes no memory is every rank's.
  if (shared_ && layout_.nodes == 1) {
    Tensor tensor = shared_->node_shared_tensor(shape, dtype);
    if (tensor.defined()) return tensor;
  }
  return ProcessGroup::node_shared_tensor(std::move(shape), dtype);
}

}  // namespace ddp::comm
