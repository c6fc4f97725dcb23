#include "hierarchical_all_reduce.hpp"

#include "average.hpp"

namespace ddp::comm {

void hierarchical_all_reduce(SharedMemoryTransport& node, ProcessGroup& cross, const Tensor& tensor,
                             ReduceOp op, int world_size) {
  // An average sums all the way and divides once, as the flat all-reduce does.
  const ReduceOp step = op == ReduceOp::avg ? ReduceOp::sum : op;
  node.reduce_shares(tensor, step);
  const Share mine = node.share(tensor.numel());
  // The same share on every node (as many ranks on each), so an empty one is empty everywhere.
  if (mine.end > mine.begin) {
    Tensor shard = tensor.view(mine.begin, {mine.end - mine.begin});
    cross.all_reduce(shard, step);
    if (op == ReduceOp::avg) divide_by(shard, world_size);
  }
  node.gather_shares(tensor);
}

}  // namespace ddp::comm
