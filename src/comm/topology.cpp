#include "ddp/comm/topology.hpp"

#include <sstream>

#include "ddp/core/env.hpp"
#include "hierarchical_process_group.hpp"

namespace ddp {
namespace {

const comm::HierarchicalProcessGroup& composed(const ProcessGroup& group, const char* what) {
  const auto* hierarchical = dynamic_cast<const comm::HierarchicalProcessGroup*>(&group);
  DDP_CHECK(
      hierarchical != nullptr,
      what << " takes a CPU group of Runtime::world()'s making (or split from it); this one is "
           << group.backend() << "'s");
  return *hierarchical;
}

}  // namespace

std::string to_string(AllReduceAlgorithm algorithm) {
  switch (algorithm) {
    case AllReduceAlgorithm::automatic:
      return "auto";
    case AllReduceAlgorithm::flat:
      return "flat";
    case AllReduceAlgorithm::hierarchical:
      return "hierarchical";
  }
  return "?";
}

AllReduceAlgorithm all_reduce_algorithm_from_env() {
  const std::string value = env::get_string("DDP_ALLREDUCE", "auto");
  for (AllReduceAlgorithm algorithm : {AllReduceAlgorithm::automatic, AllReduceAlgorithm::flat,
                                       AllReduceAlgorithm::hierarchical}) {
    if (value == to_string(algorithm)) return algorithm;
  }
  DDP_THROW(InvalidArgument, "DDP_ALLREDUCE=" << value
                                              << " is not an all-reduce; use flat, hierarchical "
                                                 "or auto (hierarchical when ranks span nodes)");
}

std::string to_string(const NodeLayout& layout) {
  std::ostringstream text;
  text << layout.nodes << (layout.nodes == 1 ? " node x " : " nodes x ");
  if (layout.min_ranks_per_node == layout.max_ranks_per_node) {
    text << layout.max_ranks_per_node;
  } else {
    text << layout.min_ranks_per_node << "-" << layout.max_ranks_per_node;
  }
  text << (layout.max_ranks_per_node == 1 ? " rank" : " ranks");
  if (layout.shared_memory) text << ", shared memory within a node";
  if (layout.nodes > 1)
    text << ", " << to_string(layout.across_nodes) << " all-reduce across nodes";
  return text.str();
}

NodeLayout node_layout(const ProcessGroup& group) {
  return composed(group, "node_layout").layout();
}

std::shared_ptr<ProcessGroup> group_by_node(ProcessGroup& group, int node,
                                            AllReduceAlgorithm algorithm) {
  const auto& hierarchical = composed(group, "group_by_node");
  auto all = std::static_pointer_cast<comm::MpiProcessGroup>(
      hierarchical.all()->split(0, hierarchical.rank()));
  return comm::HierarchicalProcessGroup::create(std::move(all), node, algorithm);
}

}  // namespace ddp
