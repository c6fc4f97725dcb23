#include "ddp/models/mlp.hpp"

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/linear.hpp"
#include "spec_arguments.hpp"

namespace ddp::models {
namespace {

class MlpFamily : public ModelFamily {
 public:
  std::string name() const override { return "mlp"; }
  std::string usage() const override { return "mlp:IN,H1,...,OUT (e.g. mlp:784,128,10)"; }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    std::vector<std::int64_t> widths =
        detail::parse_positive_list(spec, arguments, "mlp:784,128,10");
    DDP_CHECK_OPTION(widths.size() >= 2, "model", spec,
                     "needs at least an input and an output width, e.g. mlp:784,10");
    const ModelSignature signature{.sample_shape = {widths.front()}, .classes = widths.back()};
    return {make_mlp({.widths = std::move(widths),
                      .activation = options.activation,
                      .dropout = options.dropout,
                      .seed = options.seed,
                      .dropout_seed = options.dropout_seed}),
            signature};
  }
};

[[maybe_unused]] const bool registered = register_family(std::make_unique<MlpFamily>());

}  // namespace

std::unique_ptr<nn::Sequential> make_mlp(const MlpOptions& options) {
  DDP_CHECK(options.widths.size() >= 2, "an MLP needs at least an input and an output width");
  auto model = std::make_unique<nn::Sequential>();
  Generator generator(options.seed);
  for (std::size_t i = 0; i + 1 < options.widths.size(); ++i) {
    model->emplace<nn::Linear>(options.widths[i], options.widths[i + 1], generator);
    if (i + 2 == options.widths.size()) break;  // no activation after the output layer
    model->emplace<nn::ActivationLayer>(options.activation);
    if (options.dropout > 0) {
      model->emplace<nn::Dropout>(options.dropout, derive_seed(options.dropout_seed, i));
    }
  }
  model->set_input_grad_needed(false);
  return model;
}

}  // namespace ddp::models
