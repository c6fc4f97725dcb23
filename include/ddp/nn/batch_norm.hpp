// BatchNorm1d and BatchNorm2d: each channel normalised by the batch's statistics in training (and
// running statistics updated) or by the running statistics in eval, then scaled and shifted;
// PyTorch's semantics and state_dict. With a CrossReplicaSum set, the statistics are those of
// the global batch over every replica (SyncBatchNorm).
#pragma once

#include <cstdint>
#include <memory>

#include "ddp/nn/cross_replica_sum.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

struct BatchNormOptions {
  double eps = 1e-5;      // added to the variance before its square root
  double momentum = 0.1;  // running = (1 - momentum) running + momentum * batch
};

// weight (ones) and bias (zeros) [C]; buffers running_mean (zeros), running_var (ones) [C] and
// num_batches_tracked (int64, 0-d). Training: per channel, the mean and biased variance over the
// batch and spatial dimensions normalise; the running statistics take the mean and the unbiased
// variance. A batch of one value per channel is an Error (as in PyTorch), an empty one gives an
// empty output and leaves the running statistics (num_batches_tracked still counts it).
class BatchNorm : public Module {
 public:
  std::int64_t num_features() const { return num_features_; }
  const BatchNormOptions& options() const { return options_; }
  Parameter& weight() { return parameter(0); }
  Parameter& bias() { return parameter(1); }

  // Training forward then sums the statistics over every replica (one sum of [sum, sum of
  // squares, count] per channel; a replica with an empty batch joins with zeros) and backward the
  // two per-channel gradient sums that dx needs: N replicas compute what one process computes on
  // their slices together, given each replica's loss is its slice's sum over the global batch
  // size (DESIGN.md). nullptr: this replica's batch only. Eval mode never communicates.
  void set_cross_replica_sum(std::shared_ptr<CrossReplicaSum> sum) { sum_ = std::move(sum); }
  bool synchronized() const { return sum_ != nullptr; }

 protected:
  // min_dims..max_dims: the input ranks the subclass accepts; name: its class, for messages.
  BatchNorm(std::int64_t num_features, BatchNormOptions options, std::size_t min_dims,
            std::size_t max_dims, const char* name);

  Tensor forward_impl(const Tensor& input) override;
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  struct Frame {
    Tensor input;            // kept by reference (no copy)
    bool training = false;   // whether the batch's statistics normalised it
    double count = 0;        // elements per channel behind those statistics (every replica's)
    Workspace stats;         // [3, C] float64: sum, sum of squares, count
    Workspace moments;       // [2, C] float32: mean, 1 / sqrt(var + eps)
    Workspace grad_sums;     // [2, C] float64: sum of dy, sum of dy * xhat
    Workspace global_count;  // [1] float64 on the host: the count after the sum over replicas
    Workspace output;
    Workspace grad_input;
  };

  void check_input(const Tensor& input) const;
  // The batch's statistics (summed over replicas when synchronized) into frame; running ones
  // updated.
  void batch_statistics(Frame& frame);

  std::int64_t num_features_;
  BatchNormOptions options_;
  std::size_t min_dims_;
  std::size_t max_dims_;
  const char* name_;
  Buffer* running_mean_;
  Buffer* running_var_;
  Buffer* num_batches_tracked_;
  std::shared_ptr<CrossReplicaSum> sum_;
  CallFrames<Frame> frames_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, BatchNormOptions options = {});
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, BatchNormOptions options = {});
};

}  // namespace ddp::nn
