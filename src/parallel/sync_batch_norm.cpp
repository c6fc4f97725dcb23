#include "ddp/parallel/sync_batch_norm.hpp"

#include "ddp/nn/batch_norm.hpp"
#include "ddp/nn/cross_replica_sum.hpp"

namespace ddp::parallel {
namespace {

// A blocking all-reduce (SUM) over the group: the layer needs the sums before it goes on.
class ProcessGroupSum : public nn::CrossReplicaSum {
 public:
  explicit ProcessGroupSum(std::shared_ptr<ProcessGroup> group) : group_(std::move(group)) {}

  void sum_(Tensor& values) override { group_->all_reduce(values, ReduceOp::sum); }

 private:
  std::shared_ptr<ProcessGroup> group_;
};

}  // namespace

std::size_t convert_sync_batchnorm(nn::Module& module, std::shared_ptr<ProcessGroup> group) {
  DDP_CHECK(group != nullptr, "convert_sync_batchnorm needs a process group");
  auto sum = std::make_shared<ProcessGroupSum>(std::move(group));
  std::size_t converted = 0;
  for (nn::Module* child : module.modules()) {
    if (auto* batch_norm = dynamic_cast<nn::BatchNorm*>(child)) {
      batch_norm->set_cross_replica_sum(sum);
      ++converted;
    }
  }
  return converted;
}

}  // namespace ddp::parallel
