#include "ddp/models/gpt.hpp"

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/causal_self_attention.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/init.hpp"
#include "ddp/nn/layer_norm.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/nn/workspace.hpp"
#include "spec_arguments.hpp"

namespace ddp::models {
namespace {

// x + attn(ln_1(x)), then that + mlp(ln_2(that)): nanoGPT's Block.
class Block : public nn::Module {
 public:
  Block(std::int64_t dim, std::int64_t heads, Generator& generator)
      : ln_1_(dim), attn_(dim, heads, generator), ln_2_(dim) {
    mlp_.emplace_named<nn::Linear>("c_fc", dim, 4 * dim, generator);
    mlp_.emplace_named<nn::GELUTanh>("gelu");
    mlp_.emplace_named<nn::Linear>("c_proj", 4 * dim, dim, generator);
    register_module("ln_1", ln_1_);
    register_module("attn", attn_);
    register_module("ln_2", ln_2_);
    register_module("mlp", mlp_);
  }

 protected:
  Tensor forward_impl(const Tensor& x) override {
    Frame& frame = frames_[call_index()];
    Tensor after_attn = frame.after_attn.get(x.shape(), x.device());
    kernels::add(x, attn_.forward(ln_1_.forward(x)), after_attn);
    Tensor out = frame.out.get(x.shape(), x.device());
    kernels::add(after_attn, mlp_.forward(ln_2_.forward(after_attn)), out);
    return out;
  }

  // forward's lines read backwards: each residual passes dy through and adds its branch's dx.
  Tensor backward_impl(const Tensor& dy) override {
    Frame& frame = frames_[call_index()];
    Tensor d_after_attn = frame.d_after_attn.get(dy.shape(), dy.device());
    kernels::add(dy, ln_2_.backward(mlp_.backward(dy)), d_after_attn);
    Tensor dx = frame.dx.get(dy.shape(), dy.device());
    kernels::add(d_after_attn, ln_1_.backward(attn_.backward(d_after_attn)), dx);
    return dx;
  }

 private:
  struct Frame {
    nn::Workspace after_attn, out, d_after_attn, dx;
  };

  nn::LayerNorm ln_1_;
  nn::CausalSelfAttention attn_;
  nn::LayerNorm ln_2_;
  nn::Sequential mlp_;  // c_fc, gelu, c_proj: the GELU pass adds c_fc's bias
  nn::CallFrames<Frame> frames_;
};

// nanoGPT's `transformer` ModuleDict run in order: wte(tokens) + wpe(positions), the blocks, ln_f.
class Transformer : public nn::Module {
 public:
  explicit Transformer(const GptOptions& o, Generator& generator)
      : context_(o.context),
        dim_(o.dim),
        wte_(o.vocab, o.dim, generator),
        wpe_(o.context, o.dim, generator),
        ln_f_(o.dim) {
    for (std::int64_t i = 0; i < o.layers; ++i) h_.emplace<Block>(o.dim, o.heads, generator);
    register_module("wte", wte_);
    register_module("wpe", wpe_);
    register_module("h", h_);
    register_module("ln_f", ln_f_);
  }

  nn::Embedding& wte() { return wte_; }

 protected:
  Tensor forward_impl(const Tensor& tokens) override {
    DDP_CHECK(tokens.dtype() == DType::int64 && tokens.ndim() == 2,
              "a GPT takes int64 tokens [batch, sequence], got " << to_string(tokens.dtype()) << " "
                                                                 << to_string(tokens.shape()));
    const std::int64_t batch = tokens.size(0);
    const std::int64_t sequence = tokens.size(1);
    DDP_CHECK(sequence >= 1 && sequence <= context_,
              "a GPT of context " << context_ << " got sequences of " << sequence
                                  << " tokens; crop them to at most " << context_);
    if (!positions_.defined() || positions_.device() != tokens.device()) {
      std::vector<std::int64_t> range(static_cast<std::size_t>(context_));
      std::iota(range.begin(), range.end(), std::int64_t{0});
      positions_ = Tensor::from_vector(range, {context_}).to(tokens.device());
    }
    const Tensor position_rows = wpe_.forward(positions_.rows(0, sequence));
    const Tensor token_rows = wte_.forward(tokens);
    Frame& frame = frames_[call_index()];
    Tensor x = frame.embedded.get({batch, sequence * dim_}, tokens.device());
    // The same position vectors for every sequence: a bias over the rows [batch, sequence * dim].
    kernels::broadcast_rows(position_rows.reshape({sequence * dim_}), x);
    kernels::add_scaled_(x, 1.0f, token_rows.reshape({batch, sequence * dim_}));
    return ln_f_.forward(h_.forward(x.reshape({batch, sequence, dim_})));
  }

  Tensor backward_impl(const Tensor& dy) override {
    const Tensor dx = h_.backward(ln_f_.backward(dy));
    const std::int64_t batch = dx.size(0);
    const std::int64_t sequence = dx.size(1);
    Frame& frame = frames_[call_index()];
    // Backward in the reverse of forward's order: wte (lm_head's tied weight, used last) first.
    wte_.backward(dx);
    Tensor d_positions = frame.d_positions.get({sequence * dim_}, dx.device());
    kernels::sum_rows(dx.reshape({batch, sequence * dim_}), d_positions, false);
    wpe_.backward(d_positions.reshape({sequence, dim_}));
    return {};
  }

 private:
  struct Frame {
    nn::Workspace embedded, d_positions;
  };

  std::int64_t context_;
  std::int64_t dim_;
  nn::Embedding wte_;
  nn::Embedding wpe_;
  nn::Sequential h_;
  nn::LayerNorm ln_f_;
  Tensor positions_;  // int64 0 .. context - 1 on the model's device
  nn::CallFrames<Frame> frames_;
};

class Gpt : public nn::Module {
 public:
  Gpt(const GptOptions& o, Generator& generator)
      : transformer_(o, generator), lm_head_(o.dim, o.vocab, generator, false) {
    register_module("transformer", transformer_);
    register_module("lm_head", lm_head_);
    lm_head_.tie_parameter("weight", transformer_.wte(), "weight");
    set_input_grad_needed(false);
  }

 protected:
  Tensor forward_impl(const Tensor& tokens) override {
    return lm_head_.forward(transformer_.forward(tokens));
  }
  Tensor backward_impl(const Tensor& dy) override {
    return transformer_.backward(lm_head_.backward(dy));
  }

 private:
  Transformer transformer_;
  nn::Linear lm_head_;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// nanoGPT's _init_weights, then its scaled residual projections, in parameters() order.
void initialise(nn::Module& model, const GptOptions& o, Generator& generator) {
  const float residual_std = 0.02f / std::sqrt(2.0f * static_cast<float>(o.layers));
  for (nn::Parameter* param : model.parameters()) {
    if (ends_with(param->name, ".bias")) {
      param->value.zero_();
    } else if (param->value.ndim() == 2) {
      nn::fill_normal(param->value, ends_with(param->name, "c_proj.weight") ? residual_std : 0.02f,
                      generator);
    }  // LayerNorm weights stay 1
  }
}

const char* const kExample = "gpt:layers=4,heads=4,dim=128,context=64";

class GptFamily : public ModelFamily {
 public:
  std::string name() const override { return "gpt"; }
  std::string usage() const override {
    return "gpt:layers=L,heads=H,dim=C,context=T[,vocab=V] (a GPT-2 language model, e.g. " +
           std::string(kExample) + "; vocab 256: bytes)";
  }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    const std::map<std::string, std::int64_t> values = detail::parse_key_values(
        spec, arguments, {"layers", "heads", "dim", "context", "vocab"}, kExample);
    GptOptions o{.layers = detail::require_key(spec, values, "layers", kExample),
                 .heads = detail::require_key(spec, values, "heads", kExample),
                 .dim = detail::require_key(spec, values, "dim", kExample),
                 .context = detail::require_key(spec, values, "context", kExample),
                 .vocab = values.count("vocab") != 0 ? values.at("vocab") : 256,
                 .seed = options.seed};
    DDP_CHECK_OPTION(o.dim % o.heads == 0, "model", spec,
                     "dim " << o.dim << " is not a multiple of heads " << o.heads
                            << "; each head takes dim / heads features");
    DDP_CHECK_OPTION(o.vocab >= 2, "model", spec,
                     "vocab " << o.vocab << " leaves nothing to predict; give at least 2");
    return {make_gpt(o), {.sample_shape = {o.context}, .classes = o.vocab, .sequence = o.context}};
  }
};

[[maybe_unused]] const bool registered = register_family(std::make_unique<GptFamily>());

}  // namespace

std::unique_ptr<nn::Module> make_gpt(const GptOptions& options) {
  DDP_CHECK(options.layers > 0 && options.heads > 0 && options.dim > 0 && options.context > 0 &&
                options.vocab > 0 && options.dim % options.heads == 0,
            "a GPT needs positive sizes and dim a multiple of heads");
  Generator generator(options.seed);
  auto model = std::make_unique<Gpt>(options, generator);
  initialise(*model, options, generator);
  return model;
}

}  // namespace ddp::models
