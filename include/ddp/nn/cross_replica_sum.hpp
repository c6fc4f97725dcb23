// CrossReplicaSum: how a layer whose forward needs the whole global batch (SyncBatchNorm's
// statistics) sums a tensor over every replica of the model. nn only declares it; parallel
// implements it on a ProcessGroup (convert_sync_batchnorm), so nn never knows comm.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::nn {

class CrossReplicaSum {
 public:
  virtual ~CrossReplicaSum() = default;

  // Replaces values, on every replica, by their sum over the replicas. Collective: every replica
  // calls it in the same order with a tensor of the same shape and dtype (zeros where it has
  // nothing to add).
  virtual void sum_(Tensor& values) = 0;

 protected:
  CrossReplicaSum() = default;
  CrossReplicaSum(const CrossReplicaSum&) = default;
  CrossReplicaSum& operator=(const CrossReplicaSum&) = default;
};

}  // namespace ddp::nn
