// The bigram family, "bigram:T": the smallest language model, one table of next-byte logits per
// byte (an Embedding of 256 rows of 256), over a context of T positions that it reads one at a
// time. A baseline for text (the bits per byte that the previous byte alone explains) and a quick
// model for testing the text path of the programs.
#include "ddp/core/random.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/embedding.hpp"
#include "spec_arguments.hpp"

namespace ddp::models {
namespace {

constexpr std::int64_t kByteTokens = 256;

class BigramFamily : public ModelFamily {
 public:
  std::string name() const override { return "bigram"; }
  std::string usage() const override { return "bigram:CONTEXT (e.g. bigram:64: bytes of text)"; }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    const std::vector<std::int64_t> context =
        detail::parse_positive_list(spec, arguments, "bigram:64");
    DDP_CHECK_OPTION(context.size() == 1, "model", spec,
                     "takes one context length, e.g. bigram:64");
    Generator generator(options.seed);
    auto table = std::make_unique<nn::Embedding>(kByteTokens, kByteTokens, generator);
    table->set_input_grad_needed(false);
    return {std::move(table),
            {.sample_shape = {context[0]}, .classes = kByteTokens, .sequence = context[0]}};
  }
};

[[maybe_unused]] const bool registered = register_family(std::make_unique<BigramFamily>());

}  // namespace
}  // namespace ddp::models
