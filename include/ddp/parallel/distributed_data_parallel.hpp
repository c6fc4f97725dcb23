// DistributedDataParallel: wraps a module so that backward also all-reduces its gradients, in
// buckets overlapped with the rest of backward. One replica per rank; each rank feeds its own
// slice of every global batch; after finish() every rank holds the same gradients and takes the
// same optimizer step (with DdpOptions::sharded_optimizer each rank holds the sums of its blocks
// only, and a ShardedOptimizer steps them).
//
// A step, on every rank (batch from a GlobalBatchSampler: local_n rows of global_n):
//   Tensor logits = ddp.forward(batch.features);
//   float loss = criterion.forward(logits, batch.labels, batch.global_n);  // sum / global_n
//   ddp.backward(criterion.backward());  // buckets are all-reduced (SUM) as they complete
//   ddp.finish();                        // waits for what is still in flight
//   optimizer.step();
//   optimizer.zero_grad();
// The loss normaliser is where averaging happens: each rank's loss is its slice's sum divided by
// the global batch size, so the SUM of the ranks' gradients is exactly the gradient of the mean
// loss over the global batch, for uneven slices too, and a rank with an empty slice contributes
// zeros. DDP itself never scales a gradient. (Dividing by the world size would be wrong whenever
// the slices differ in size.)
#pragma once

#include <memory>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/parallel/buffer_broadcast.hpp"
#include "ddp/parallel/reducer.hpp"

namespace ddp::parallel {

// A bucket cap must lie between one float's worth and a size no model here comes near (beyond it
// the bytes overflow): an InvalidArgument naming `what` (a flag, or the DdpOptions field)
// otherwise.
void check_bucket_cap_mb(double mib, const char* what);

struct DdpOptions {
  // Cap of every bucket but the first, in MiB (PyTorch's bucket_cap_mb): larger buckets make
  // fewer, faster all-reduces but start later, leaving more communication exposed after backward.
  double bucket_cap_mb = 25.0;
  // Cap of the first bucket (the last layers' gradients, ready first): small so that
  // communication starts early in backward.
  double first_bucket_cap_mb = 1.0;
  // none keeps gradients exact; bf16 halves the bytes on the wire at a rounding cost.
  GradCompression grad_compression = GradCompression::none;
  // See ReducerOptions: one extra small all-reduce per step, so that a parameter no rank used is
  // skipped by the optimizer instead of getting a zero gradient.
  bool find_unused_parameters = false;
  // For a ShardedOptimizer: buckets are reduce-scattered, each rank receiving the sum of its block
  // of every bucket, instead of all-reduced (see ReducerOptions::sharded).
  bool sharded_optimizer = false;
  // Copy rank 0's buffers (BatchNorm's running statistics) to every rank before each forward in
  // training mode, one broadcast per dtype (PyTorch's default): the replicas' buffers stay equal
  // although each rank's statistics come from its own slice. No effect without buffers.
  bool broadcast_buffers = true;
};

class DistributedDataParallel {
 public:
  // Collective over group. Checks that every rank has the same parameter names and shapes (an
  // Error naming the first difference otherwise), copies rank 0's parameter values to every rank,
  // makes the gradients views of the buckets, installs the module's grad-ready hook and names its
  // layers on the trace timeline (nn::Module::label_layers_for_trace). module
  // must outlive this object and keep its parameters; one DDP per module.
  DistributedDataParallel(nn::Module& module, std::shared_ptr<ProcessGroup> group,
                          const DdpOptions& options = {});
  ~DistributedDataParallel();  // removes the hook; waits for all-reduces in flight
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // The module's forward, after the buffer broadcast (DdpOptions::broadcast_buffers) when the
  // module is in training mode.
  Tensor forward(const Tensor& input);
  // The module's backward; each bucket's all-reduce starts as soon as its gradients are final.
  Tensor backward(const Tensor& grad_output);
  // Waits for the buckets in flight (launching any that unused parameters held back). After it,
  // each gradient is the sum over ranks. Call once per step on every rank, before the optimizer.
  void finish();

  // While a NoSync lives, backward only accumulates gradients locally and finish() does nothing:
  // for gradient accumulation over micro-batches, with one all-reduce in the step after it ends.
  // Normalise every micro-batch's loss by the samples of all micro-batches together.
  class NoSync {
   public:
    explicit NoSync(Reducer& reducer);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    Reducer& reducer_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(reducer_); }

  nn::Module& module() { return module_; }
  ProcessGroup& group() { return *group_; }
  const Reducer& reducer() const { return reducer_; }

 private:
  nn::Module& module_;
  std::shared_ptr<ProcessGroup> group_;
  Reducer reducer_;
  bool broadcast_buffers_;
  BufferBroadcast buffer_broadcast_;
};

}  // namespace ddp::parallel
