#include "ddp/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <typeinfo>
#include <unordered_set>

#include "ddp/core/error.hpp"
#include "ddp/core/trace.hpp"

namespace ddp::nn {

// A parameter with what the module tree counts about it; tied slots share one.
struct Module::OwnedParameter {
  Parameter param;
  Module* owner = nullptr;  // the module that registered it: names are prefixed through it
  std::uint64_t pass = 0;   // the forward pass the counts belong to
  std::size_t uses = 0;     // forward calls of modules that hold it, in that pass
  std::size_t grads = 0;    // gradients backward has reported for those calls
  std::size_t hook_index = 0;
};

namespace {

// A pass starts at the outermost forward() call of a thread; modules compare pass numbers to
// know that their call counts start again.
thread_local int forward_depth = 0;
thread_local std::uint64_t forward_pass = 0;

class ForwardDepth {
 public:
  ForwardDepth() {
    if (forward_depth++ == 0) ++forward_pass;
  }
  ~ForwardDepth() { --forward_depth; }
  ForwardDepth(const ForwardDepth&) = delete;
  ForwardDepth& operator=(const ForwardDepth&) = delete;
};

// "ddp::nn::Linear", for messages about a module.
std::string type_name(const Module& module) {
  const char* mangled = typeid(module).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
  std::free(demangled);
  return name;
}

}  // namespace

Module::~Module() = default;

Tensor Module::forward(const Tensor& input) {
  ForwardDepth depth;
  if (pass_ != forward_pass) {
    pass_ = forward_pass;
    calls_ = 0;
    undifferentiated_ = 0;
  }
  for (Slot& slot : parameters_) {
    OwnedParameter& owned = *slot.shared;
    if (owned.pass != forward_pass) {
      owned.pass = forward_pass;
      owned.uses = 0;
      owned.grads = 0;
    }
    ++owned.uses;
  }
  call_ = calls_++;
  ++undifferentiated_;
  const trace::Span span(trace_name_, "forward");
  return forward_impl(input);
}

Tensor Module::backward(const Tensor& grad_output) {
  DDP_CHECK(undifferentiated_ > 0,
            type_name(*this) << " backward with no forward call left to differentiate: call "
                             << "forward first; each call is differentiated once, the last first");
  call_ = --undifferentiated_;
  const trace::Span span(trace_name_, "backward");
  return backward_impl(grad_output);
}

template <typename Visit>
void Module::visit_parameters(Visit&& visit) {
  std::unordered_set<const OwnedParameter*> seen;
  // Own parameters first, then the children's: modules() is in that order already.
  for (Module* module : modules()) {
    for (Slot& slot : module->parameters_) {
      if (seen.insert(slot.shared.get()).second) visit(*slot.shared);
    }
  }
}

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  visit_parameters([&](OwnedParameter& owned) { out.push_back(&owned.param); });
  return out;
}

std::int64_t Module::parameter_count() {
  std::int64_t total = 0;
  for (const Parameter* param : parameters()) total += param->value.numel();
  return total;
}

std::vector<Buffer*> Module::buffers() {
  std::vector<Buffer*> out;
  for (Module* module : modules()) {
    for (Buffer& buffer : module->buffers_) out.push_back(&buffer);
  }
  return out;
}

std::vector<NamedTensor> Module::state_dict() {
  std::vector<NamedTensor> out;
  std::unordered_set<const OwnedParameter*> seen;
  for (Module* module : modules()) {
    for (Slot& slot : module->parameters_) {
      if (seen.insert(slot.shared.get()).second) {
        out.push_back({slot.shared->param.name, slot.shared->param.value});
      }
    }
    for (Buffer& buffer : module->buffers_) out.push_back({buffer.name, buffer.value});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Module::tied_names() {
  // Walks the tree with each module's path, as PyTorch's named_parameters(remove_duplicate=False).
  std::vector<std::pair<std::string, std::string>> out;
  std::unordered_set<const OwnedParameter*> seen;
  std::function<void(Module&, const std::string&)> walk = [&](Module& module,
                                                              const std::string& prefix) {
    for (Slot& slot : module.parameters_) {
      const std::string path = prefix + slot.name;
      if (!seen.insert(slot.shared.get()).second && path != slot.shared->param.name) {
        out.emplace_back(path, slot.shared->param.name);
      }
    }
    for (auto& [name, child] : module.children_) walk(*child, prefix + name + ".");
  };
  walk(*this, "");
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  std::unordered_set<const Module*> seen;
  collect_modules(out, seen);
  return out;
}

void Module::collect_modules(std::vector<Module*>& out, std::unordered_set<const Module*>& seen) {
  if (!seen.insert(this).second) return;
  out.push_back(this);
  for (auto& child : children_) child.second->collect_modules(out, seen);
}

void Module::label_layers_for_trace() {
  std::function<void(Module&, const std::string&)> walk = [&](Module& module,
                                                              const std::string& path) {
    if (module.children_.empty()) {
      std::string type = type_name(module);
      type = type.substr(type.rfind(':') == std::string::npos ? 0 : type.rfind(':') + 1);
      module.trace_name_ = trace::intern((path.empty() ? "" : path + ": ") + type);
    }
    for (auto& [name, child] : module.children_) {
      walk(*child, path.empty() ? name : path + "." + name);
    }
  };
  walk(*this, "");
}

void Module::to(const Device& device) {
  for (Parameter* param : parameters()) {
    param->value = param->value.to(device);
    param->grad = param->grad.to(device);
  }
  for (Buffer* buffer : buffers()) buffer->value = buffer->value.to(device);
}

void Module::train(bool training) {
  for (Module* module : modules()) module->training_ = training;
}

void Module::zero_grad() {
  for (Parameter* param : parameters()) param->has_grad = false;
}

void Module::set_grad_ready_hook(GradReadyHook hook) {
  std::shared_ptr<const GradReadyHook> shared;
  if (hook) shared = std::make_shared<const GradReadyHook>(std::move(hook));
  std::size_t next_index = 0;
  visit_parameters([&](OwnedParameter& owned) { owned.hook_index = next_index++; });
  for (Module* module : modules()) module->hook_ = shared;
}

void Module::tie_parameter(const std::string& name, Module& source,
                           const std::string& source_name) {
  auto find = [](Module& module, const std::string& local) {
    auto it = std::find_if(module.parameters_.begin(), module.parameters_.end(),
                           [&](const Slot& slot) { return slot.name == local; });
    DDP_CHECK(it != module.parameters_.end(), type_name(module)
                                                  << " has no parameter '" << local << "' to tie");
    return it;
  };
  auto mine = find(*this, name);
  auto theirs = find(source, source_name);
  DDP_CHECK(mine->shared->param.value.shape() == theirs->shared->param.value.shape(),
            "cannot tie '" << name << "' " << to_string(mine->shared->param.value.shape())
                           << " to '" << source_name << "' "
                           << to_string(theirs->shared->param.value.shape())
                           << ": tied parameters need one shape");
  mine->shared = theirs->shared;
}

Parameter& Module::register_parameter(std::string name, Shape shape) {
  auto owned = std::make_shared<OwnedParameter>();
  owned->param.name = name;
  owned->param.value = Tensor::zeros(shape);
  owned->param.grad = Tensor::zeros(std::move(shape));
  owned->owner = this;
  parameters_.push_back({std::move(name), owned});
  return owned->param;
}

Parameter& Module::parameter(std::size_t slot) {
  DDP_CHECK(slot < parameters_.size(), type_name(*this) << " has no parameter slot " << slot);
  return parameters_[slot].shared->param;
}

Buffer& Module::register_buffer(std::string name, Tensor value) {
  DDP_CHECK(value.defined(), "buffer '" << name << "' needs a tensor");
  return buffers_.emplace_back(Buffer{std::move(name), std::move(value)});
}

void Module::register_module(std::string name, Module& child) {
  DDP_CHECK(&child != this, type_name(*this) << " cannot be its own child '" << name << "'");
  // Modules are built bottom up, so prefixing here yields the full dotted path at any depth. A
  // parameter tied to one registered outside the child keeps that one's name.
  const std::vector<Module*> subtree = child.modules();
  const std::unordered_set<const Module*> inside(subtree.begin(), subtree.end());
  std::unordered_set<const OwnedParameter*> renamed;
  for (Module* module : subtree) {
    for (Slot& slot : module->parameters_) {
      OwnedParameter& owned = *slot.shared;
      if (inside.count(owned.owner) == 0 || !renamed.insert(&owned).second) continue;
      owned.param.name = name + "." + owned.param.name;
    }
    for (Buffer& buffer : module->buffers_) buffer.name = name + "." + buffer.name;
  }
  children_.emplace_back(std::move(name), &child);
}

void Module::grad_ready(Parameter& param) {
  auto it = std::find_if(parameters_.begin(), parameters_.end(),
                         [&](const Slot& slot) { return &slot.shared->param == &param; });
  DDP_CHECK(it != parameters_.end(), type_name(*this) << " reported the gradient of '" << param.name
                                                      << "', which is not its own parameter");
  OwnedParameter& owned = *it->shared;
  param.has_grad = true;
  ++owned.grads;
  DDP_CHECK(owned.grads <= owned.uses, "the gradient of '"
                                           << param.name << "' was reported " << owned.grads
                                           << " times for " << owned.uses
                                           << " uses in the forward pass: report it once per call");
  if (owned.grads == owned.uses && hook_) (*hook_)(owned.hook_index);
}

}  // namespace ddp::nn
