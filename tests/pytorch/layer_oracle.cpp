// The ddp half of the layer checks against PyTorch (tests/pytorch/layers_test.py drives it): reads
// one case, runs it through ddp's layer, losses or shape kernels, and writes what came out.
//   usage: ddp_layer_oracle IN.safetensors OUT.safetensors [IN OUT ...]
// Several cases in one run save the process start (loading the CUDA libraries) per case; a case
// that fails is reported on stderr ("error: IN: why"), writes no OUT, and the exit status is 1.
// IN's "__metadata__" names the case ("layer") and its configuration (sizes as decimal strings);
// its tensors are the layer's parameters under PyTorch's state_dict names, the input "x" (or "x0",
// "x1", ... for concat), the upstream gradient "dy" and a loss's "target". OUT holds "y" (or "y0",
// ... for split), "loss" for a loss, "dx" when the input has a gradient, "grad.NAME" for each
// parameter in parameters() order (a tied parameter once, under its first name) and
// "buffer.NAME" for each buffer as the forward left it (BatchNorm's running statistics).
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/io/safetensors.hpp"
#include "ddp/kernels/shape.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "ddp/nn/causal_self_attention.hpp"
#include "ddp/nn/conv2d.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/layer_norm.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/pooling.hpp"
#include "ddp/nn/residual.hpp"
#include "ddp/nn/sequential.hpp"
#include "shared_weight_models.hpp"

namespace {

using namespace ddp;
using Outputs = std::vector<NamedTensor>;

// One input file: its configuration and tensors. Every tensor must be read by the case, so a
// parameter written under a name ddp does not give it is an error rather than silently unused.
class Case {
 public:
  explicit Case(io::SafetensorsContents contents) : config_(std::move(contents.metadata)) {
    for (NamedTensor& named : contents.tensors) tensors_.emplace(named.name, named.tensor);
  }

  std::string text(const std::string& key, const std::string& fallback = "") const {
    auto it = config_.find(key);
    if (it != config_.end()) return it->second;
    DDP_CHECK(!fallback.empty(), "the case has no '" << key << "' in its __metadata__");
    return fallback;
  }
  std::int64_t integer(const std::string& key) const { return std::stoll(text(key)); }
  float real(const std::string& key) const { return std::stof(text(key)); }
  // "2,0,1" -> {2, 0, 1}
  std::vector<std::int64_t> integers(const std::string& key) const {
    std::vector<std::int64_t> values;
    std::stringstream in(text(key));
    for (std::string item; std::getline(in, item, ',');) values.push_back(std::stoll(item));
    return values;
  }
  std::vector<std::string> words(const std::string& key) const {
    std::vector<std::string> values;
    std::stringstream in(text(key));
    for (std::string item; std::getline(in, item, ',');) values.push_back(item);
    return values;
  }

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const Tensor& tensor(const std::string& name) {
    auto it = tensors_.find(name);
    DDP_CHECK(it != tensors_.end(), "the case has no tensor '" << name << "'");
    used_.insert(name);
    return it->second;
  }
  void check_all_used() const {
    for (const auto& [name, tensor] : tensors_) {
      DDP_CHECK(used_.count(name) != 0, "tensor '" << name << "' is not a state_dict entry or "
                                                   << "input of this case; is it misnamed?");
    }
  }

 private:
  std::map<std::string, std::string> config_;
  std::map<std::string, Tensor> tensors_;
  std::set<std::string> used_;
};

// load_state_dict(strict=True): each state_dict entry from the file by its name (or, for a tied
// parameter, any other name PyTorch lists it under), of the same shape.
void load_state(nn::Module& module, Case& c) {
  std::map<std::string, std::vector<std::string>> aliases;
  for (const auto& [alias, name] : module.tied_names()) aliases[name].push_back(alias);
  for (NamedTensor& entry : module.state_dict()) {
    for (const std::string& alias : aliases[entry.name]) c.tensor(alias);  // read: equal in torch
    const Tensor& source = c.tensor(entry.name);
    DDP_CHECK(source.shape() == entry.tensor.shape(),
              entry.name << " is " << to_string(source.shape()) << " in the file but "
                         << to_string(entry.tensor.shape()) << " in ddp");
    entry.tensor.copy_(source);
  }
}

// forward(x), then backward(dy): y, dx (when the input has one) and every parameter's gradient.
Outputs run_module(nn::Module& module, Case& c) {
  load_state(module, c);
  module.train(c.text("mode", "train") == "train");
  module.zero_grad();
  Outputs out{{"y", module.forward(c.tensor("x")).clone()}};
  for (nn::Buffer* buffer : module.buffers()) {
    out.push_back({"buffer." + buffer->name, buffer->value.clone()});
  }
  const Tensor dx = module.backward(c.tensor("dy"));
  if (dx.defined()) out.push_back({"dx", dx.clone()});
  for (nn::Parameter* param : module.parameters()) {
    DDP_CHECK(param->has_grad, "backward left no gradient in " << param->name);
    out.push_back({"grad." + param->name, param->grad.clone()});
  }
  return out;
}

Generator unused_init(0);  // every parameter is overwritten from the file
const std::map<std::string, kernels::Activation> kActivations{
    {"relu", kernels::Activation::relu},
    {"gelu", kernels::Activation::gelu},
    {"gelu_tanh", kernels::Activation::gelu_tanh},
    {"tanh", kernels::Activation::tanh}};

Outputs linear(Case& c) {
  nn::Linear layer(c.integer("in"), c.integer("out"), unused_init, c.integer("bias") != 0);
  return run_module(layer, c);
}

Outputs conv2d(Case& c) {
  nn::Conv2d layer(c.integer("in"), c.integer("out"), c.integer("kernel"), unused_init,
                   {.stride = c.integer("stride"),
                    .padding = c.integer("padding"),
                    .bias = c.integer("bias") != 0});
  return run_module(layer, c);
}

// Conv2d(1, 4, 3, padding 1), ReLU, Conv2d(4, 6, 3, stride 2, padding 1), ReLU, Flatten,
// Linear(72, 5) on 8x6 images, as layers_test.py's small_cnn.
Outputs small_cnn(Case& c) {
  nn::Sequential model;
  model.emplace<nn::Conv2d>(1, 4, 3, unused_init, nn::Conv2dOptions{.padding = 1});
  model.emplace<nn::ReLU>();
  model.emplace<nn::Conv2d>(4, 6, 3, unused_init, nn::Conv2dOptions{.stride = 2, .padding = 1});
  model.emplace<nn::ReLU>();
  model.emplace<nn::Flatten>();
  model.emplace<nn::Linear>(6 * 4 * 3, 5, unused_init);
  return run_module(model, c);
}

Outputs activation(Case& c) {
  nn::ActivationLayer layer(kActivations.at(c.text("layer")));
  return run_module(layer, c);
}

Outputs embedding(Case& c) {
  nn::Embedding layer(c.integer("num"), c.integer("dim"), unused_init);
  return run_module(layer, c);
}

// Only where dropout is the identity (eval mode, or p = 0): ddp draws its masks from its own
// Generator and PyTorch from its own, so equal masks in training are not something to test here
// (layers_test.py checks a training mask's consistency between forward and backward instead).
Outputs dropout(Case& c) {
  nn::Dropout layer(c.real("p"), 0);
  return run_module(layer, c);
}

Outputs flatten(Case& c) {
  nn::Flatten layer;
  return run_module(layer, c);
}

// "stride" 0 is PyTorch's stride=None.
Outputs max_pool(Case& c) {
  nn::MaxPool2d layer(c.integer("kernel"), c.integer("stride"));
  return run_module(layer, c);
}

Outputs avg_pool(Case& c) {
  nn::AvgPool2d layer(c.integer("kernel"), c.integer("stride"));
  return run_module(layer, c);
}

Outputs adaptive_pool(Case& c) {
  nn::AdaptiveAvgPool2d layer(c.integer("output"));
  return run_module(layer, c);
}

// [N, C] or [N, C, L] input.
Outputs batch_norm1d(Case& c) {
  nn::BatchNorm1d layer(c.integer("features"), {c.real("eps"), c.real("momentum")});
  return run_module(layer, c);
}

Outputs batch_norm2d(Case& c) {
  nn::BatchNorm2d layer(c.integer("features"), {c.real("eps"), c.real("momentum")});
  return run_module(layer, c);
}

Outputs layer_norm(Case& c) {
  nn::LayerNorm layer(c.integer("dim"), std::stod(c.text("eps")));
  return run_module(layer, c);
}

Outputs attention(Case& c) {
  nn::CausalSelfAttention layer(c.integer("dim"), c.integer("heads"), unused_init);
  return run_module(layer, c);
}

// y = attn(attn(x)): one attention layer, two call frames, as layers_test.py's AttentionTwice.
class AttentionTwice : public nn::Module {
 public:
  AttentionTwice(std::int64_t dim, std::int64_t heads) : attn_(dim, heads, unused_init) {
    register_module("attn", attn_);
  }

 protected:
  Tensor forward_impl(const Tensor& x) override { return attn_.forward(attn_.forward(x)); }
  Tensor backward_impl(const Tensor& dy) override { return attn_.backward(attn_.backward(dy)); }

 private:
  nn::CausalSelfAttention attn_;
};

Outputs attention_twice(Case& c) {
  AttentionTwice model(c.integer("dim"), c.integer("heads"));
  return run_module(model, c);
}

// Linear, ReLU, Linear... with the activations of the "activations" list between the Linears of
// "widths": the Sequential fuses each Linear's bias into the activation after it.
std::unique_ptr<nn::Sequential> mlp_of(const std::vector<std::int64_t>& widths,
                                       const std::vector<std::string>& activations) {
  DDP_CHECK(activations.size() + 2 == widths.size(), "an MLP has one activation per hidden width");
  auto model = std::make_unique<nn::Sequential>();
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    model->emplace<nn::Linear>(widths[i], widths[i + 1], unused_init);
    if (i < activations.size()) {
      model->emplace<nn::ActivationLayer>(kActivations.at(activations[i]));
    }
  }
  return model;
}

Outputs mlp(Case& c) {
  auto model = mlp_of(c.integers("widths"), c.words("activations"));
  return run_module(*model, c);
}

// branch: Linear(in, hidden), ReLU, Linear(hidden, out); shortcut: the identity, or a
// Linear(in, out) without bias (a projection, as ResNet's downsampling blocks have).
Outputs residual(Case& c) {
  const std::int64_t in = c.integer("in");
  const std::int64_t out = c.integer("out");
  auto branch = mlp_of({in, c.integer("hidden"), out}, {"relu"});
  std::unique_ptr<nn::Module> shortcut;
  if (c.text("shortcut") == "projection") {
    shortcut = std::make_unique<nn::Linear>(in, out, unused_init, false);
  }
  nn::Residual block(std::move(branch), std::move(shortcut));
  return run_module(block, c);
}

// GPT-2's ends: a token embedding, a tanh, and lm_head whose weight is the embedding's, so its
// gradient is the sum of both uses.
Outputs tied(Case& c) {
  testing_models::TiedLanguageModel model(c.integer("vocab"), c.integer("dim"), 0, true, 0);
  return run_module(model, c);
}

// One Linear called twice in a forward, y = layer(tanh(layer(x))): two call frames, and a
// weight gradient summed over both calls.
Outputs twice(Case& c) {
  testing_models::TwiceApplied model(c.integer("features"), 0);
  return run_module(model, c);
}

// The loss of prediction x against target, and d loss / d x (no upstream gradient: scale 1).
Outputs loss(nn::Loss& criterion, Case& c) {
  const float value = criterion.forward(c.tensor("x"), c.tensor("target"), c.integer("normalizer"));
  return {{"loss", Tensor::from_vector(std::vector<float>{value}, {})},
          {"dx", criterion.backward().clone()}};
}

Outputs cross_entropy(Case& c) {
  nn::CrossEntropyLoss criterion;
  return loss(criterion, c);
}

Outputs mse(Case& c) {
  nn::MSELoss criterion;
  return loss(criterion, c);
}

// The shape kernels have no module: forward only, against torch.permute, torch.cat, torch.split.
Outputs permute(Case& c) {
  const Tensor& x = c.tensor("x");
  std::vector<int> dims;
  Shape shape;
  for (std::int64_t d : c.integers("dims")) {
    dims.push_back(static_cast<int>(d));
    shape.push_back(x.size(static_cast<std::size_t>(d)));
  }
  Tensor y = Tensor::empty(shape, x.dtype());
  kernels::permute(x, dims, y);
  return {{"y", y}};
}

// "x0", "x1", ...: built with append, where "x" + std::to_string(i) trips GCC 12's -Wrestrict.
std::string numbered(char stem, std::size_t index) {
  std::string name(1, stem);
  name.append(std::to_string(index));
  return name;
}

Outputs concat(Case& c) {
  const int dim = static_cast<int>(c.integer("dim"));
  std::vector<Tensor> parts;
  while (c.has(numbered('x', parts.size()))) parts.push_back(c.tensor(numbered('x', parts.size())));
  DDP_CHECK(!parts.empty(), "concat needs tensors x0, x1, ...");
  Shape shape = parts[0].shape();
  shape[static_cast<std::size_t>(dim)] = 0;
  for (const Tensor& part : parts) shape[static_cast<std::size_t>(dim)] += part.size(dim);
  Tensor y = Tensor::empty(shape, parts[0].dtype());
  kernels::concat(parts, dim, y);
  return {{"y", y}};
}

Outputs split(Case& c) {
  const Tensor& x = c.tensor("x");
  const int dim = static_cast<int>(c.integer("dim"));
  std::vector<Tensor> parts;
  for (std::int64_t size : c.integers("sizes")) {
    Shape shape = x.shape();
    shape[static_cast<std::size_t>(dim)] = size;
    parts.push_back(Tensor::empty(shape, x.dtype()));
  }
  kernels::split(x, dim, parts);
  Outputs out;
  for (std::size_t i = 0; i < parts.size(); ++i) out.push_back({numbered('y', i), parts[i]});
  return out;
}

const std::map<std::string, std::function<Outputs(Case&)>> kCases{
    {"linear", linear},
    {"relu", activation},
    {"gelu", activation},
    {"tanh", activation},
    {"embedding", embedding},
    {"dropout", dropout},
    {"flatten", flatten},
    {"residual", residual},
    {"mlp", mlp},
    {"tied", tied},
    {"twice", twice},
    {"cross_entropy", cross_entropy},
    {"mse", mse},
    {"permute", permute},
    {"concat", concat},
    {"split", split},
    {"max_pool", max_pool},
    {"avg_pool", avg_pool},
    {"adaptive_pool", adaptive_pool},
    {"conv2d", conv2d},
    {"batch_norm1d", batch_norm1d},
    {"batch_norm2d", batch_norm2d},
    {"small_cnn", small_cnn},
    {"gelu_tanh", activation},
    {"layer_norm", layer_norm},
    {"attention", attention},
    {"attention_twice", attention_twice},
};

// One case: reads in, runs it, writes its outputs to out.
void run_case(const std::string& in, const std::string& out) {
  Case c(io::read_safetensors(in));
  const std::string layer = c.text("layer");
  auto found = kCases.find(layer);
  DDP_CHECK(found != kCases.end(), "unknown layer '" << layer << "'");
  const Outputs outputs = found->second(c);
  c.check_all_used();
  io::write_safetensors(out, outputs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc % 2 != 1) {
    std::cerr << "usage: ddp_layer_oracle IN.safetensors OUT.safetensors [IN OUT ...]\n";
    return 2;
  }
  kernels::set_compute_threads(1);
  int status = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    try {
      run_case(argv[i], argv[i + 1]);
    } catch (const std::exception& error) {
      std::cerr << "error: " << argv[i] << ": " << error.what() << "\n";
      status = 1;
    }
  }
  return status;
}
