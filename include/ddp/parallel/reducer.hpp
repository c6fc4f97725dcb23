// Reducer: the one place that knows gradient buckets. It points every parameter's grad at a view
// of its bucket's flat buffer, counts gradients as backward reports them, launches each bucket's
// all-reduce (SUM) the moment the bucket is complete, and waits for the stragglers in finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/parallel/bucket_plan.hpp"

namespace ddp::parallel {

// What travels on the wire. bf16 halves the bytes; each rank rounds its gradient to bf16 once,
// sums are formed in float32 and rounded back at every step of the reduction. A group of one rank
// sends nothing, so its gradients stay float32 either way.
enum class GradCompression { none, bf16 };

// "none" or "bf16".
std::string to_string(GradCompression compression);

struct ReducerOptions {
  BucketLimits limits;  // bucket sizes: the overlap/efficiency trade-off
  GradCompression compression = GradCompression::none;  // none keeps results exact in float32
  // Adds one small all-reduce per step that counts, per parameter, the ranks that gave it a
  // gradient; a parameter no rank used then keeps has_grad false, so the optimizer skips it as a
  // single process would. Without it such a parameter gets a zero gradient (weight decay and
  // momentum still move it). Either way an unused parameter counts as zero and never hangs.
  bool find_unused_parameters = false;
  // Reduce-scatter instead of all-reduce: after finish() each rank holds the sum of only its own
  // block of each bucket (shard()), for an optimizer that updates just that block and all-gathers
  // the parameters (ShardedOptimizer). Buckets are padded with zeros to whole blocks. Needs every
  // parameter used (find_unused_parameters off).
  bool sharded = false;
};

class Reducer {
 public:
  // params: the module's parameters() in registration order, the same list on every rank, all on
  // one device (the CPU or a GPU); their grads are replaced by views of buckets on that device
  // (current contents kept). Both must outlive the reducer.
  Reducer(std::vector<nn::Parameter*> params, std::shared_ptr<ProcessGroup> group,
          const ReducerOptions& options);
  ~Reducer();  // waits for all-reduces still in flight: they write into the buckets
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // The module's grad-ready hook: parameter `index`'s gradient is final for this step. Buckets are
  // launched in plan order only (a complete bucket waits for the ones before it), so every rank
  // issues the same all-reduces in the same order whatever its timing. The price: a bucket holding
  // a parameter that gets no gradient this step goes out in finish(), and so do those after it.
  void grad_ready(std::size_t index);
  // Launches the buckets backward did not complete (a parameter without a gradient counts as
  // zero), waits for every bucket and marks the gradients present: they now hold the sums over
  // all ranks (sharded: only this rank's shard of each bucket does). Every rank must call it once
  // per synchronised step, before the optimizer step.
  void finish();

  // While false, grad_ready does nothing and finish() returns at once: gradients accumulate
  // locally (gradient accumulation) until a step with sync on reduces them all.
  void set_sync(bool enabled);
  bool sync_enabled() const { return sync_; }

  const BucketPlan& plan() const { return plan_; }
  // The flat float32 buffers the gradients are views of, in plan order. After finish() each element
  // is a gradient summed over the ranks, or zero for a parameter that had none (sharded: in this
  // rank's shard; the rest holds this rank's own gradients or less).
  std::vector<Tensor> gradient_buckets() const;
  // The elements of bucket b's flat buffer that this rank receives summed: all of them, or when
  // sharded its block (the flat's length / world size, at rank x that).
  struct Shard {
    std::int64_t offset = 0;
    std::int64_t numel = 0;
  };
  Shard shard(std::size_t bucket) const;
  bool sharded() const { return options_.sharded; }
  // Buckets handed to the process group so far this step: all of them once backward has reported
  // every gradient, which is what lets their all-reduces overlap the rest of backward.
  std::size_t buckets_launched() const { return next_launch_; }
  GradCompression compression() const { return options_.compression; }
  // Bytes each rank hands to the all-reduces per step (the buffers' size on the wire dtype).
  std::int64_t wire_bytes_per_step() const;

 private:
  struct BucketState {
    Tensor flat;  // float32: the gradients live here as views
    Tensor wire;  // bfloat16 copy that is reduced instead of flat, under compression
    WorkPtr work;
    std::size_t pending = 0;      // gradients not yet reported this step
    const char* trace_name = "";  // "all_reduce bucket 3" on the timeline
  };

  void launch_complete_buckets();
  void launch(std::size_t bucket);
  std::int64_t flat_numel(std::int64_t plan_numel) const;  // padded to whole blocks when sharded
  void wait_all_quietly();
  // While tracing records: bucket b's collective, queued to started to done, on the lane of the
  // thread that ran it.
  void trace_bucket(std::size_t b, const Work& work) const;
  void start_next_step();

  std::vector<nn::Parameter*> params_;
  std::shared_ptr<ProcessGroup> group_;
  ReducerOptions options_;
  Device device_;  // the parameters': buckets and gradients live there
  BucketPlan plan_;
  std::vector<BucketState> buckets_;
  std::vector<bool> reported_;   // per parameter: its gradient was reported this step
  std::size_t next_launch_ = 0;  // buckets before it are in flight or done this step
  bool sync_ = true;
};

}  // namespace ddp::parallel
