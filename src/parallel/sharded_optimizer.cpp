#include "ddp/parallel/sharded_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

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

ShardedOptimizer::ShardedOptimizer(DistributedDataParallel& ddp, const Factory& make_inner,
                                   const std::vector<optim::ParamGroup>& groups)
    : Optimizer(ddp.module().parameters(), 0.0), group_(ddp.group()), reducer_(ddp.reducer()) {
  DDP_CHECK(reducer_.sharded(),
            "ShardedOptimizer needs DistributedDataParallel built with "
            "DdpOptions::sharded_optimizer = true");
  // Per parameter, its weight decay: nothing where no group names one. The state lists the
  // grouped parameters first, in the groups' order, as an unsharded optimizer given them would.
  std::vector<std::optional<double>> decay(params_.size());
  std::vector<bool> grouped(params_.size(), false);
  for (const optim::ParamGroup& given : groups) {
    for (const nn::Parameter* param : given.params) {
      auto at = std::find(params_.begin(), params_.end(), param);
      DDP_CHECK_ARG(at != params_.end(), "a parameter group of the sharded optimizer holds '"
                                             << (param ? param->name : std::string("null"))
                                             << "', which is no parameter of the module");
      const auto i = static_cast<std::size_t>(at - params_.begin());
      DDP_CHECK_ARG(!grouped[i], "parameter '" << param->name << "' is in two parameter groups");
      decay[i] = given.weight_decay;
      grouped[i] = true;
      state_order_.push_back(i);
    }
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!grouped[i]) state_order_.push_back(i);
  }
  const BucketPlan& plan = reducer_.plan();
  const std::vector<Tensor> grads = reducer_.gradient_buckets();
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
  std::vector<std::optional<double>> segment_decay;
  for (std::size_t b = 0; b < plan.buckets.size(); ++b) {
    const std::int64_t numel = grads[b].numel();
    Tensor flat = shared_parameters_ ? shared.view(shared_offset, {numel})
                                     : group_.collective_buffer({numel}, DType::float32);
    shared_offset += numel;
    const Reducer::Shard mine = reducer_.shard(b);
    // Where this rank's block changes weight decay: (first element in the bucket, decay).
    std::vector<std::pair<std::int64_t, std::optional<double>>> cuts;
    for (const BucketEntry& entry : plan.buckets[b].entries) {
      nn::Parameter& param = *params_[entry.parameter];
      Tensor view = flat.view(entry.offset, param.value.shape());
      // DDP made the replicas equal: one rank fills a flat the ranks share.
      if (!shared_parameters_ || group_.rank() == 0) view.copy_(param.value);
      param.value = view;
      const std::int64_t begin = std::max(entry.offset, mine.offset);
      const std::int64_t end = std::min(entry.offset + entry.numel, mine.offset + mine.numel);
      if (begin < end && (cuts.empty() || cuts.back().second != decay[entry.parameter])) {
        cuts.emplace_back(begin, decay[entry.parameter]);
      }
    }
    if (cuts.empty()) cuts.emplace_back(mine.offset, std::nullopt);
    for (std::size_t k = 0; k < cuts.size(); ++k) {
      const std::int64_t begin = cuts[k].first;
      const std::int64_t end = k + 1 < cuts.size() ? cuts[k + 1].first : mine.offset + mine.numel;
      segments_.push_back({"bucket" + std::to_string(b) + "." + std::to_string(k),
                           flat.view(begin, {end - begin}), grads[b].view(begin, {end - begin}),
                           false});
      places_.push_back({b, begin - mine.offset});
      segment_decay.push_back(cuts[k].second);
    }
    flats_.push_back(std::move(flat));
  }
  // The inner optimizer's groups: one per weight decay, in the order the segments meet them.
  std::vector<optim::ParamGroup> inner_groups;
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    auto group = std::find_if(
        inner_groups.begin(), inner_groups.end(),
        [&](const optim::ParamGroup& g) { return g.weight_decay == segment_decay[s]; });
    if (group == inner_groups.end()) {
      inner_groups.push_back({{}, segment_decay[s]});
      group = inner_groups.end() - 1;
    }
    group->params.push_back(&segments_[s]);
  }
  inner_ = make_inner(std::move(inner_groups));
  scalar_ = group_.collective_buffer({1}, DType::float64);
  set_lr(inner_->lr());
  if (shared_parameters_) group_.barrier();
}

void ShardedOptimizer::step() {
  const BucketPlan& plan = reducer_.plan();
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    // Every parameter of a sharded step has a gradient after finish(), or none has (zero_grad).
    const auto& entries = plan.buckets[places_[s].bucket].entries;
    segments_[s].has_grad = std::any_of(entries.begin(), entries.end(), [&](const BucketEntry& e) {
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
  for (std::size_t b = 0; b < flats_.size(); ++b) {
    const Reducer::Shard mine = reducer_.shard(b);
    works.push_back(group_.all_gather_async(flats_[b].view(mine.offset, {mine.numel}), flats_[b]));
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
  for (const nn::Parameter& segment : segments_) squared += kernels::squared_norm(segment.grad);
  return sum_over_ranks(squared);
}

bool ShardedOptimizer::gradients_finite() const {
  return std::isfinite(squared_gradient_norm());
}

double ShardedOptimizer::clip_grad_norm(double max_norm) {
  const double norm = std::sqrt(squared_gradient_norm());
  std::vector<Tensor> grads;
  for (const nn::Parameter& segment : segments_) grads.push_back(segment.grad);
  optim::scale_to_max_norm(grads, norm, max_norm);
  return norm;
}

std::vector<NamedTensor> ShardedOptimizer::state() const {
  const BucketPlan& plan = reducer_.plan();
  // The inner state by (buffer, segment). Buffers in the order the inner optimizer names them
  // (the same on every rank), buckets in order: every rank runs the same all-gathers.
  std::vector<std::string> prefixes;
  std::map<std::pair<std::string, std::size_t>, Tensor> by_segment;
  for (const NamedTensor& entry : inner_->state()) {
    const std::string prefix = prefix_of(entry.name);
    if (std::find(prefixes.begin(), prefixes.end(), prefix) == prefixes.end()) {
      prefixes.push_back(prefix);
    }
    std::size_t s = 0;
    while (s < segments_.size() && entry.name != prefix + "/" + segments_[s].name) ++s;
    DDP_CHECK(s < segments_.size(),
              "sharded optimizer state '" << entry.name << "' names no block");
    by_segment[{prefix, s}] = entry.tensor;
  }
  // Per parameter, in the order of the buffers: the unsharded optimizer's order.
  std::vector<std::vector<NamedTensor>> per_parameter(params_.size());
  for (std::size_t b = 0; b < flats_.size(); ++b) {
    const Reducer::Shard mine = reducer_.shard(b);
    for (const std::string& prefix : prefixes) {
      // This rank's block of the buffer, from its segments; a bucket never stepped has none.
      Tensor block;
      for (std::size_t s = 0; s < segments_.size(); ++s) {
        auto found = by_segment.find({prefix, s});
        if (places_[s].bucket != b || found == by_segment.end()) continue;
        if (!elementwise(found->second)) {
          block = found->second;  // a count, the same for every segment of the bucket
          break;
        }
        if (!block.defined()) block = Tensor::zeros({mine.numel});
        block.view(places_[s].offset, {found->second.numel()}).copy_(found->second);
      }
      if (!block.defined()) continue;
      // The same entries on every rank (blocks of one size), so the all-gathers match.
      const bool per_element = elementwise(block);
      Tensor whole = block;
      if (per_element) {
        whole = Tensor::zeros({flats_[b].numel()});
        group_.all_gather(block, whole);
      }
      for (const BucketEntry& e : plan.buckets[b].entries) {
        const nn::Parameter& param = *params_[e.parameter];
        Tensor tensor =
            per_element ? whole.view(e.offset, param.value.shape()).clone() : whole.clone();
        per_parameter[e.parameter].push_back({prefix + "/" + param.name, std::move(tensor)});
      }
    }
  }
  std::vector<NamedTensor> out;
  for (std::size_t i : state_order_) {
    for (auto& entry : per_parameter[i]) out.push_back(std::move(entry));
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
  std::vector<NamedTensor> segments;
  for (auto& [key, block] : assembled) {
    DDP_CHECK(block.parameters == plan.buckets[key.second].entries.size(),
              "the optimizer state has '" << key.first << "' for only some parameters of bucket "
                                          << key.second << ", which a sharded optimizer keeps "
                                          << "whole: resume without sharding "
                                             "(DdpOptions::sharded_optimizer off)");
    for (std::size_t s = 0; s < segments_.size(); ++s) {
      if (places_[s].bucket != key.second) continue;
      Tensor tensor =
          elementwise(block.tensor)
              ? block.tensor.view(places_[s].offset, {segments_[s].value.numel()}).clone()
              : block.tensor.clone();
      segments.push_back({key.first + "/" + segments_[s].name, std::move(tensor)});
    }
  }
  inner_->load_state(segments);
}

}  // namespace ddp::parallel
