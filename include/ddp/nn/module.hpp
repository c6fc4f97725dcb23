// Module: a layer or a network of layers with named parameters and buffers and an explicit
// backward, which reports each parameter's gradient as soon as it is final (the hook DDP overlaps
// all-reduce with).
//
// Writing a module (the library's layers follow the same rules as one written elsewhere):
// 1. In the constructor register, in PyTorch's order for the same architecture, the module's own
//    parameters (register_parameter), its buffers (register_buffer: state that is saved and moved
//    but never optimised) and its children (register_module, children built before). Names and
//    order then match PyTorch's state_dict(): "0.weight", "layer1.0.bn1.running_mean".
// 2. Override forward_impl and backward_impl. Callers, and a composite module calling its
//    children, use forward() and backward(), which count the calls: a module may run several
//    times in one forward pass (a pass starts at the outermost forward() call), and each call's
//    backward comes once, last call first. call_index() says which call the running forward_impl
//    or backward_impl serves; keep what backward needs per call in CallFrames (below).
// 3. forward_impl returns a tensor that stays valid until the module's next forward pass; it may
//    live in the call's frame. backward_impl gets d loss / d output of that call and returns
//    d loss / d input, or an undefined tensor when input_grad_needed() is false or the input has
//    no gradient (indices).
// 4. For each of its own parameters backward_impl writes the gradient into param.grad, overwriting
//    while has_grad is false and adding when it is true, then calls grad_ready(param) once per
//    call. A parameter used several times in a pass (a layer run twice, or a parameter tied to
//    two layers) is reported to the hook once, when its last use's gradient is in.
// 5. A composite module's backward_impl calls its children's backward() in the reverse order of
//    their forward() calls, and adds the gradients of a tensor that fed several of them (a
//    residual's input: dx = dy + branch.backward(dy)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ddp/core/named_tensor.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp::nn {

struct Parameter {
  std::string name;  // the state_dict key PyTorch would give it: "0.weight"
  Tensor value;
  // Same shape as value. Backward writes into this very tensor (overwriting when has_grad is
  // false, adding when true) and never reallocates it, so DDP may replace it with a view into a
  // flat bucket and gradients land in the bucket directly.
  Tensor grad;
  // False after zero_grad() until backward writes grad, like PyTorch's grad being None: a
  // parameter the backward never reached holds no gradient (grad's contents are stale: treat as 0).
  bool has_grad = false;
};

// Non-trainable state that belongs to the model (BatchNorm's running mean): in the state_dict,
// checkpoints and weight files, moved by Module::to, never given to an optimizer.
struct Buffer {
  std::string name;  // the state_dict key: "1.running_mean"
  Tensor value;
};

// Called during backward with the parameter's position in parameters() when its grad is final.
using GradReadyHook = std::function<void(std::size_t parameter_index)>;

class Module {
 public:
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Runs forward_impl as one more call of this module in the current forward pass.
  Tensor forward(const Tensor& input);
  // Runs backward_impl for the latest call not yet differentiated; an Error when there is none.
  Tensor backward(const Tensor& grad_output);

  // Each parameter once (a tied one under its first name), this module's own first, then its
  // children's in registration order: the order of PyTorch's parameters().
  std::vector<Parameter*> parameters();
  std::int64_t parameter_count();
  // The buffers in the same order.
  std::vector<Buffer*> buffers();
  // Parameters and buffers by name in PyTorch's state_dict() order (per module: its parameters,
  // its buffers, then its children), each tied parameter once. The tensors share the module's
  // storage: copy_ into one loads it.
  std::vector<NamedTensor> state_dict();
  // Each other name of a tied parameter and the name it is listed under ("lm_head.weight" ->
  // "transformer.wte.weight"): PyTorch's state_dict() lists a tied tensor under every name.
  std::vector<std::pair<std::string, std::string>> tied_names();
  // This module and every module below it, each once, parents before children.
  std::vector<Module*> modules();

  // Moves every parameter's value and grad and every buffer, of this module and all below it, to
  // device (module.to in PyTorch); layers then keep their activations there. Do it before DDP
  // wraps the module (its buckets take over the grads) and before the optimizer's first step (its
  // state follows the parameters it first sees).
  void to(const Device& device);

  // Training mode (dropout active, batch statistics) or evaluation mode, for this module and all
  // below it.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Marks every gradient absent (has_grad = false): the next backward overwrites instead of
  // adding, which saves a pass over the gradients.
  void zero_grad();

  // Installs hook on this module and all below it; indices count in this module's parameters().
  // An empty function removes it.
  void set_grad_ready_hook(GradReadyHook hook);

  // Names each leaf module below this one (a module without children) on the trace timeline by its
  // path and type ("0: Linear", "layer1.0.conv1: Conv2d"): while tracing records, their forward
  // and backward calls are spans there.
  void label_layers_for_trace();

  // Whether backward computes d loss / d input. The model's input is data, which needs none:
  // turning it off on the model saves the first layer's largest GEMM, as autograd does.
  virtual void set_input_grad_needed(bool needed) { input_grad_needed_ = needed; }
  bool input_grad_needed() const { return input_grad_needed_; }

  // Makes this module's parameter `name` the very parameter `source_name` of source (PyTorch's
  // `lm_head.weight = wte.weight`): one tensor, one gradient (the sum of every use), one entry in
  // parameters(), the state_dict and DDP's buckets. Shapes must agree; this module's own tensor
  // is dropped.
  void tie_parameter(const std::string& name, Module& source, const std::string& source_name);

 protected:
  Module() = default;

  virtual Tensor forward_impl(const Tensor& input) = 0;
  virtual Tensor backward_impl(const Tensor& grad_output) = 0;
  // Which call of this module in the current pass forward_impl or backward_impl serves: 0 for the
  // first.
  std::size_t call_index() const { return call_; }

  // The reference stays valid while the module lives, unless tie_parameter replaces the
  // parameter: a module that may be tied reads its parameters through parameter(slot).
  Parameter& register_parameter(std::string name, Shape shape);
  // The parameter in this module's slot'th register_parameter call, tied or not.
  Parameter& parameter(std::size_t slot);
  Buffer& register_buffer(std::string name, Tensor value);
  void register_module(std::string name, Module& child);
  // Called by backward_impl once param.grad holds this call's contribution.
  void grad_ready(Parameter& param);

 private:
  struct OwnedParameter;
  struct Slot {
    std::string name;  // the local name: "weight"
    std::shared_ptr<OwnedParameter> shared;
  };

  template <typename Visit>
  void visit_parameters(Visit&& visit);
  void collect_modules(std::vector<Module*>& out, std::unordered_set<const Module*>& seen);

  std::vector<Slot> parameters_;
  std::deque<Buffer> buffers_;  // a deque: Buffer& handed out stay valid
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
  bool input_grad_needed_ = true;
  std::shared_ptr<const GradReadyHook> hook_;
  std::uint64_t pass_ = 0;            // the forward pass the counts below belong to
  std::size_t calls_ = 0;             // forward calls in that pass
  std::size_t undifferentiated_ = 0;  // of those, the ones backward has not reached yet
  std::size_t call_ = 0;              // see call_index()
  const char* trace_name_ = nullptr;  // see label_layers_for_trace()
};

// The state one call of a module keeps for its backward (its input, the memory of its output, a
// mask), one frame per call of a forward pass, reused from pass to pass so that a training loop of
// fixed shapes allocates nothing after its first step: `Frame& f = frames_[call_index()];`.
template <typename Frame>
class CallFrames {
 public:
  Frame& operator[](std::size_t call) {
    while (frames_.size() <= call) frames_.emplace_back();
    return frames_[call];
  }

 private:
  std::deque<Frame> frames_;  // a deque: a frame does not move when another is added
};

}  // namespace ddp::nn
