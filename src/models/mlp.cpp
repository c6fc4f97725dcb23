#include "ddp/models/mlp.hpp"

#include <charconv>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/linear.hpp"

namespace ddp::models {
namespace {

// "784,128,10" -> {784, 128, 10}; spec is quoted in the error when malformed.
std::vector<std::int64_t> parse_widths(const std::string& spec, const std::string& arguments) {
  std::vector<std::int64_t> widths;
  const char* cursor = arguments.data();
  const char* end = arguments.data() + arguments.size();
  while (cursor <= end) {
    std::int64_t width = 0;
    auto [next, ec] = std::from_chars(cursor, end, width);
    DDP_CHECK_OPTION(ec == std::errc() && width > 0 && (next == end || *next == ','), "model", spec,
                     "layer widths must be positive integers separated by commas, e.g. "
                     "mlp:784,128,10");
    widths.push_back(width);
    cursor = next + 1;
  }
  DDP_CHECK_OPTION(widths.size() >= 2, "model", spec,
                   "needs at least an input and an output width, e.g. mlp:784,10");
  return widths;
}

class MlpFamily : public ModelFamily {
 public:
  std::string name() const override { return "mlp"; }
  std::string usage() const override { return "mlp:IN,H1,...,OUT (e.g. mlp:784,128,10)"; }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    std::vector<std::int64_t> widths = parse_widths(spec, arguments);
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
