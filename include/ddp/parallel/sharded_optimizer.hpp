// ShardedOptimizer: ZeRO stage 1 under DistributedDataParallel, as PyTorch's
// ZeroRedundancyOptimizer. With DdpOptions::sharded_optimizer the Reducer reduce-scatters each
// gradient bucket, so a rank holds the summed gradient of only its block of every bucket; this
// optimizer keeps state for those blocks alone, updates them, and all-gathers the parameters.
// Per rank the optimizer's memory traffic and state shrink by the world size, and each all-reduce
// becomes a reduce-scatter plus an all-gather, the same bytes. Where the ranks share a node's
// memory they share one copy of the parameters instead: each rank updates its blocks in place and
// the all-gather is a barrier. The update rules are elementwise, so the parameters come out bit
// for bit as an unsharded optimizer's.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ddp/optim/optimizer.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"

namespace ddp::parallel {

class ShardedOptimizer : public optim::Optimizer {
 public:
  // Builds the optimizer that updates the blocks, from their parameters (1-D views of this rank's
  // block of each bucket), in groups of one weight decay each: a block is cut where its
  // parameters' groups change.
  using Factory =
      std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::ParamGroup> blocks)>;

  // Collective. ddp must have been built with sharded_optimizer, on CPU parameters, and outlive
  // this. The module's parameters become views of flat buffers laid out as the gradient buckets:
  // one that every rank maps (ProcessGroup::node_shared_tensor) where the group has one, so that
  // a write to a parameter on any rank then writes every rank's; otherwise one per rank, in the
  // memory that the ranks of a node share when they can (the all-gather is one copy per block).
  // groups: the module's parameters with a weight decay of their own (torch's param_groups);
  // a parameter in none takes the inner optimizer's options.
  ShardedOptimizer(DistributedDataParallel& ddp, const Factory& make_inner,
                   const std::vector<optim::ParamGroup>& groups = {});

  // Collective: updates this rank's blocks, then all-gathers every parameter (or, sharing one copy
  // of them, waits until every rank has updated its blocks).
  void step() override;
  // Whether the ranks share one copy of the parameters.
  bool shares_parameters() const { return shared_parameters_; }
  // Collective: the whole state, per parameter and named as the unsharded optimizer names it, so
  // a checkpoint resumes sharded or not, at any world size.
  std::vector<NamedTensor> state() const override;
  // Takes such a whole state (from a checkpoint) and keeps this rank's blocks of it.
  void load_state(const std::vector<NamedTensor>& state) override;

  // Collective: whether every summed gradient is finite (each rank checks its blocks).
  bool gradients_finite() const;
  // Collective: optim::clip_grad_norm over the gradients of all ranks' blocks; returns the norm.
  double clip_grad_norm(double max_norm);

 private:
  double sum_over_ranks(double value) const;
  // Collective: the squared L2 norm of the summed gradients of all ranks' blocks.
  double squared_gradient_norm() const;

  ProcessGroup& group_;
  const Reducer& reducer_;
  bool shared_parameters_ = false;  // flats_ are node-shared tensors
  // Where a segment lies: its bucket, and its first element in this rank's block of that bucket.
  struct SegmentPlace {
    std::size_t bucket = 0;
    std::int64_t offset = 0;
  };

  std::vector<Tensor> flats_;  // per bucket: the parameters, laid out as its gradients
  // This rank's block of every bucket, in bucket order, cut where the weight decay changes (at
  // least one segment per bucket, empty for an empty block): views of parameters and grads.
  std::vector<nn::Parameter> segments_;
  std::vector<SegmentPlace> places_;      // per segment
  std::vector<std::size_t> state_order_;  // the parameters' indices in the order state() lists
  std::unique_ptr<optim::Optimizer> inner_;
  Tensor scalar_;  // one float64 for sums over the ranks, where they are cheapest
};

}  // namespace ddp::parallel
