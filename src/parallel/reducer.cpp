#include "ddp/parallel/reducer.hpp"

#include <algorithm>

#include "ddp/core/log.hpp"
#include "ddp/core/trace.hpp"
#include "ddp/kernels/convert.hpp"

namespace ddp::parallel {

std::string to_string(GradCompression compression) {
  return compression == GradCompression::bf16 ? "bf16" : "none";
}

Reducer::Reducer(std::vector<nn::Parameter*> params, std::shared_ptr<ProcessGroup> group,
                 const ReducerOptions& options)
    : params_(std::move(params)),
      group_(std::move(group)),
      options_(options),
      device_(params_.empty() ? Device::cpu() : params_.front()->value.device()) {
  DDP_CHECK(group_ != nullptr, "Reducer needs a process group");
  DDP_CHECK_ARG(!options_.sharded || !options_.find_unused_parameters,
                "a sharded optimizer step needs every parameter used: turn off "
                "find_unused_parameters or the sharding");
  std::vector<std::int64_t> numels;
  for (const nn::Parameter* param : params_) {
    DDP_CHECK(param->value.dtype() == DType::float32 && param->value.device() == device_,
              "Reducer: parameter '" << param->name << "' is " << to_string(param->value.dtype())
                                     << " on " << to_string(param->value.device())
                                     << "; buckets hold float32 gradients on one device, "
                                     << to_string(device_));
    numels.push_back(param->value.numel());
  }
  // The buffer that is all-reduced comes from the group, which may put host buffers in shared
  // memory; on a GPU it is device memory, and the group orders its streams itself.
  auto reduced_buffer = [&](std::int64_t numel, DType dtype) {
    return device_.is_cpu() ? group_->collective_buffer({numel}, dtype)
                            : Tensor::zeros({numel}, dtype, device_);
  };
  plan_ = plan_buckets(numels, dtype_size(DType::float32), options_.limits);
  buckets_.resize(plan_.buckets.size());
  for (std::size_t b = 0; b < plan_.buckets.size(); ++b) {
    BucketState& state = buckets_[b];
    const std::int64_t numel = flat_numel(plan_.buckets[b].numel);
    if (options_.compression == GradCompression::bf16) {
      state.flat = Tensor::zeros({numel}, DType::float32, device_);
      state.wire = reduced_buffer(numel, DType::bfloat16);
    } else {
      state.flat = reduced_buffer(numel, DType::float32);
    }
    state.trace_name =
        trace::intern(std::string(options_.sharded ? "reduce_scatter" : "all_reduce") + " bucket " +
                      std::to_string(b));
    for (const BucketEntry& entry : plan_.buckets[b].entries) {
      nn::Parameter& param = *params_[entry.parameter];
      Tensor view = state.flat.view(entry.offset, param.value.shape());
      // A one-time copy, so that gradients accumulated before DDP was set up are not lost.
      if (param.grad.defined() && param.grad.numel() == view.numel()) view.copy_(param.grad);
      param.grad = view;
    }
  }
  reported_.assign(params_.size(), false);
  start_next_step();
}

Reducer::~Reducer() {
  wait_all_quietly();
}

void Reducer::grad_ready(std::size_t index) {
  if (!sync_) return;
  DDP_CHECK(index < params_.size(),
            "Reducer: grad-ready hook for parameter " << index << " of " << params_.size());
  DDP_CHECK(!reported_[index], "the gradient of '"
                                   << params_[index]->name
                                   << "' was reported twice in one step: call finish() after each "
                                      "backward (no_sync() to accumulate), and use each parameter "
                                      "once per forward");
  reported_[index] = true;
  std::size_t bucket = plan_.bucket_of[index];
  if (--buckets_[bucket].pending == 0 && bucket == next_launch_) launch_complete_buckets();
}

void Reducer::launch_complete_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    launch(next_launch_++);
  }
}

void Reducer::launch(std::size_t bucket) {
  // A sum over one rank is the gradient itself: nothing to send, not even to the group's thread.
  if (group_->size() == 1) return;
  BucketState& state = buckets_[bucket];
  Tensor& reduced = options_.compression == GradCompression::bf16 ? state.wire : state.flat;
  if (options_.compression == GradCompression::bf16) kernels::to_bfloat16(state.flat, state.wire);
  if (options_.sharded) {
    const Shard mine = shard(bucket);
    state.work = group_->reduce_scatter_async(reduced, reduced.view(mine.offset, {mine.numel}),
                                              ReduceOp::sum);
  } else {
    state.work = group_->all_reduce_async(reduced, ReduceOp::sum);
  }
}

std::int64_t Reducer::flat_numel(std::int64_t numel) const {
  if (!options_.sharded) return numel;
  // Whole blocks, each starting on a 64-byte line for float32, so that no two owners write one.
  const std::int64_t unit = std::int64_t{group_->size()} * 16;
  return (numel + unit - 1) / unit * unit;
}

Reducer::Shard Reducer::shard(std::size_t bucket) const {
  const std::int64_t numel = buckets_[bucket].flat.numel();
  if (!options_.sharded) return {0, numel};
  const std::int64_t block = numel / group_->size();
  return {block * group_->rank(), block};
}

void Reducer::finish() {
  if (!sync_) return;
  // A gradient backward never wrote is stale memory: it counts as zero. One written in an earlier
  // no_sync step but not reached this time is kept: it is that accumulation's result.
  for (std::size_t b = next_launch_; b < buckets_.size(); ++b) {
    for (const BucketEntry& entry : plan_.buckets[b].entries) {
      nn::Parameter& param = *params_[entry.parameter];
      if (!reported_[entry.parameter] && !param.has_grad) param.grad.zero_();
    }
    buckets_[b].pending = 0;
  }
  launch_complete_buckets();

  Tensor usage;
  WorkPtr usage_work;
  if (options_.find_unused_parameters) {
    std::vector<std::int32_t> used(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) used[i] = params_[i]->has_grad ? 1 : 0;
    usage = Tensor::from_vector(used, {static_cast<std::int64_t>(used.size())}).to(device_);
    usage_work = group_->all_reduce_async(usage, ReduceOp::sum);
  }
  // Newest first: buckets complete in launch order, so this thread sleeps (and is woken) once
  // instead of once per bucket, which matters when it shares a core with the communication thread.
  for (std::size_t b = buckets_.size(); b-- > 0;) {
    BucketState& state = buckets_[b];
    if (!state.work) continue;  // world size 1
    state.work->wait();
    trace_bucket(b, *state.work);
    state.work.reset();
    if (options_.compression == GradCompression::bf16) {
      const Shard mine = shard(b);
      Tensor summed = state.flat.view(mine.offset, {mine.numel});
      kernels::from_bfloat16(state.wire.view(mine.offset, {mine.numel}), summed);
    }
  }
  if (usage_work) {
    usage_work->wait();
    // The one read of device memory here, and only with find_unused_parameters: has_grad is host
    // state.
    const std::vector<std::int32_t> counts = usage.to_vector<std::int32_t>();
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i]->has_grad = counts[i] > 0;
  } else {
    for (nn::Parameter* param : params_) param->has_grad = true;
  }
  start_next_step();
}

void Reducer::trace_bucket(std::size_t b, const Work& work) const {
  const trace::TaskTimes& times = work.times();
  if (!trace::recording() || times.started_ns < 0) return;
  const BucketState& state = buckets_[b];
  const Tensor& reduced = options_.compression == GradCompression::bf16 ? state.wire : state.flat;
  trace::record({.name = state.trace_name,
                 .category = "collective",
                 .begin_ns = times.started_ns,
                 .end_ns = times.done_ns,
                 .step = trace::current_step(),
                 .queued_ns = times.queued_ns,
                 .bytes = static_cast<std::int64_t>(reduced.nbytes()),
                 .lane = times.lane});
}

void Reducer::set_sync(bool enabled) {
  // Turning sync back on is always safe: nothing is counted while it is off.
  DDP_CHECK(enabled || std::find(reported_.begin(), reported_.end(), true) == reported_.end(),
            "no_sync() entered in the middle of a step: enter it between finish() and the next "
            "backward");
  sync_ = enabled;
}

std::vector<Tensor> Reducer::gradient_buckets() const {
  std::vector<Tensor> flats;
  for (const BucketState& state : buckets_) flats.push_back(state.flat);
  return flats;
}

std::int64_t Reducer::wire_bytes_per_step() const {
  const DType wire =
      options_.compression == GradCompression::bf16 ? DType::bfloat16 : DType::float32;
  std::int64_t total = 0;
  for (const Bucket& bucket : plan_.buckets) total += bucket.numel;
  return total * static_cast<std::int64_t>(dtype_size(wire));
}

void Reducer::wait_all_quietly() {
  for (BucketState& state : buckets_) {
    if (!state.work) continue;
    try {
      state.work->wait();
    } catch (const std::exception& error) {
      DDP_WARN("gradient all-reduce failed while DDP was being destroyed: " << error.what());
    }
    state.work.reset();
  }
}

void Reducer::start_next_step() {
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].pending = plan_.buckets[b].entries.size();
  }
  reported_.assign(params_.size(), false);
  next_launch_ = 0;
}

}  // namespace ddp::parallel
