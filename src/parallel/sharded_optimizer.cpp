#include "ddp/parallel/sharded_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "ddp/kernels/reduce.hpp"
#include "ddp/optim/clip.hpp"

namespace ddp::parallel {
namespace {

// "momentum_buffer/0.weight" -> "momentum_buffer".
std::string prefix_of(const std::string& name) {
  const std::size_t slash = name.find('/');
  DDP_CHECK(slash != std::string::npos,
            "optimizer state '" << name << "' is not named <buffer>/<parameter>");
  return name.substr(0, slash);
}

// State that follows its parameter element by element (a moment, a momentum buffer: float32, as
// the parameters) rather than one value for the whole parameter (a step count: int64).
bool elementwise(const Tensor& state) {
  return state.dtype() == DType::float32;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  const std::size_t bytes = static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype());
  return a.dtype() == b.dtype() && a.numel() == b.numel() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), bytes) == 0;
}

}  // namespace

ShardedOptimizer::ShardedOptimizer(DistributedDataParallel& ddp, const Factory& make_inner)
    : Optimizer(ddp.module().parameters(), 0.0), group_(ddp.group()), reducer_(ddp.reducer()) {
  DDP_CHECK(reducer_.sharded(),
            "ShardedOptimizer needs DistributedDataParallel built with "
            "DdpOptions::sharded_optimizer = true");
  const BucketPlan& plan = reducer_.plan();
  const std::vector<Tensor> grads = reducer_.gradient_buckets();
  blocks_.reserve(plan.buckets.size());  // the inner optimizer keeps pointers into it
  std::int64_t total = 0;
  for (const Tensor& grad : grads) {
    DDP_CHECK(grad.device().is_cpu(), "ShardedOptimizer updates CPU parameters; these are on "
                                          << to_string(grad.device())
                                          << ": use an unsharded optimizer there");
    total += grad.numel();
  }
  // One mapping for every bucket, so that the ranks share all parameters or none.
  const Tensor shared = group_.node_shared_tensor({total}, DType::float32);
  shared_parameters_ = shared.defined();
  std::int64_t shared_offset = 0;
  for (std::size_t b = 0; b < plan.buckets.size(); ++b) {
    const std::int64_t numel = grads[b].numel();
    Tensor flat = shared_parameters_ ? shared.view(shared_offset, {numel})
                                     : group_.collective_buffer({numel}, DType::float32);
    shared_offset += numel;
    for (const BucketEntry& entry : plan.buckets[b].entries) {
      nn::Parameter& param = *params_[entry.parameter];
      Tensor view = flat.view(entry.offset, param.value.shape());
      // DDP made the replicas equal: one rank fills a flat the ranks share.
      if (!shared_parameters_ || group_.rank() == 0) view.copy_(param.value);
      param.value = view;
    }
    const Reducer::Shard mine = reducer_.shard(b);
    blocks_.push_back({"bucket" + std::to_string(b), flat.view(mine.offset, {mine.numel}),
                       grads[b].view(mine.offset, {mine.numel}), false});
    flats_.push_back(std::move(flat));
  }
  std::vector<nn::Parameter*> pointers;
  for (nn::Parameter& block : blocks_) pointers.push_back(&block);
  inner_ = make_inner(std::move(pointers));
  scalar_ = group_.collective_buffer({1}, DType::float64);
  set_lr(inner_->lr());
  if (shared_parameters_) group_.barrier();
}

void ShardedOptimizer::step() {
  const BucketPlan& plan = reducer_.plan();
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    // Every parameter of a sharded step has a gradient after finish(), or none has (zero_grad).
    const auto& entries = plan.buckets[b].entries;
    blocks_[b].has_grad = std::any_of(entries.begin(), entries.end(), [&](const BucketEntry& e) {
      return params_[e.parameter]->has_grad;
    });
  }
  inner_->set_lr(lr_);
  if (shared_parameters_) {
    // A block is written once no peer reads this step's parameters (a backward may still need
    // them after its last gradient), and read once every owner has written its own.
    group_.barrier();
    inner_->step();
    group_.barrier();
    return;
  }
  inner_->step();
  std::vector<WorkPtr> works;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    works.push_back(group_.all_gather_async(blocks_[b].value, flats_[b]));
  }
  for (WorkPtr& work : works) work->wait();
}

double ShardedOptimizer::sum_over_ranks(double value) const {
  scalar_.data<double>()[0] = value;
  group_.all_reduce(scalar_);
  return scalar_.data<double>()[0];
}

double ShardedOptimizer::squared_gradient_norm() const {
  double squared = 0.0;
  for (const nn::Parameter& block : blocks_) squared += kernels::squared_norm(block.grad);
  return sum_over_ranks(squared);
}

bool ShardedOptimizer::gradients_finite() const {
  return std::isfinite(squared_gradient_norm());
}

double ShardedOptimizer::clip_grad_norm(double max_norm) {
  const double norm = std::sqrt(squared_gradient_norm());
  std::vector<Tensor> grads;
  for (const nn::Parameter& block : blocks_) grads.push_back(block.grad);
  optim::scale_to_max_norm(grads, norm, max_norm);
  return norm;
}

std::vector<NamedTensor> ShardedOptimizer::state() const {
  const BucketPlan& plan = reducer_.plan();
  // Per parameter, in the inner optimizer's order of buffers: the unsharded optimizer's order.
  std::vector<std::vector<NamedTensor>> per_parameter(params_.size());
  for (const NamedTensor& entry : inner_->state()) {
    const std::string prefix = prefix_of(entry.name);
    std::size_t b = 0;
    while (b < blocks_.size() && entry.name != prefix + "/" + blocks_[b].name) ++b;
    DDP_CHECK(b < blocks_.size(), "sharded optimizer state '" << entry.name << "' names no block");
    // The same entries on every rank (blocks of one size), so the all-gathers match.
    const bool per_element = elementwise(entry.tensor);
    Tensor whole = entry.tensor;
    if (per_element) {
      whole = Tensor::zeros({flats_[b].numel()});
      group_.all_gather(entry.tensor, whole);
    }
    for (const BucketEntry& e : plan.buckets[b].entries) {
      const nn::Parameter& param = *params_[e.parameter];
      Tensor tensor =
          per_element ? whole.view(e.offset, param.value.shape()).clone() : whole.clone();
      per_parameter[e.parameter].push_back({prefix + "/" + param.name, std::move(tensor)});
    }
  }
  std::vector<NamedTensor> out;
  for (auto& entries : per_parameter) {
    for (auto& entry : entries) out.push_back(std::move(entry));
  }
  return out;
}

void ShardedOptimizer::load_state(const std::vector<NamedTensor>& state) {
  const BucketPlan& plan = reducer_.plan();
  struct Assembled {
    Tensor tensor;
    std::size_t parameters = 0;  // of the bucket's, found in state
  };
  std::map<std::pair<std::string, std::size_t>, Assembled> assembled;
  for (const NamedTensor& entry : state) {
    const std::string prefix = prefix_of(entry.name);
    const bool per_element = elementwise(entry.tensor);
    const std::size_t i = per_element ? shaped_parameter_index(entry.name, prefix, entry.tensor)
                                      : parameter_index(entry.name, prefix);
    const std::size_t b = plan.bucket_of[i];
    const Reducer::Shard mine = reducer_.shard(b);
    const nn::Parameter& param = *params_[i];
    Assembled& block = assembled[{prefix, b}];
    if (!block.tensor.defined()) {
      block.tensor = per_element ? Tensor::zeros({mine.numel}) : entry.tensor.clone();
    }
    ++block.parameters;
    if (!per_element) {
      DDP_CHECK(same_bytes(block.tensor, entry.tensor),
                "optimizer state '"
                    << entry.name << "' differs from that of the other parameters "
                    << "of its bucket, which a sharded optimizer keeps once: "
                       "resume without sharding (DdpOptions::sharded_optimizer off)");
      continue;
    }
    auto at = std::find_if(plan.buckets[b].entries.begin(), plan.buckets[b].entries.end(),
                           [&](const BucketEntry& e) { return e.parameter == i; });
    // The part of the parameter inside this rank's block.
    const std::int64_t begin = std::max(at->offset, mine.offset);
    const std::int64_t end = std::min(at->offset + at->numel, mine.offset + mine.numel);
    if (begin >= end) continue;
    const Tensor source = entry.tensor.reshape({param.value.numel()});
    block.tensor.view(begin - mine.offset, {end - begin})
        .copy_(source.view(begin - at->offset, {end - begin}));
  }
  std::vector<NamedTensor> blocks;
  for (auto& [key, block] : assembled) {
    DDP_CHECK(block.parameters == plan.buckets[key.second].entries.size(),
              "the optimizer state has '" << key.first << "' for only some parameters of bucket "
                                          << key.second << ", which a sharded optimizer keeps "
                                          << "whole: resume without sharding "
                                             "(DdpOptions::sharded_optimizer off)");
    blocks.push_back({key.first + "/" + blocks_[key.second].name, std::move(block.tensor)});
  }
  inner_->load_state(blocks);
}

}  // namespace ddp::parallel
