#include "ddp/nn/mlp.hpp"

#include <charconv>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/linear.hpp"

namespace ddp::nn {

std::vector<std::int64_t> parse_mlp_widths(const std::string& spec) {
  const std::string prefix = "mlp:";
  DDP_CHECK_ARG(
      spec.rfind(prefix, 0) == 0,
      "--model '" << spec << "' is not known; use mlp:IN,H1,...,OUT, e.g. mlp:784,128,10");
  std::vector<std::int64_t> widths;
  const char* cursor = spec.data() + prefix.size();
  const char* end = spec.data() + spec.size();
  while (cursor <= end) {
    std::int64_t width = 0;
    auto [next, ec] = std::from_chars(cursor, end, width);
    DDP_CHECK_ARG(ec == std::errc() && width > 0 && (next == end || *next == ','),
                  "--model '" << spec << "': layer widths must be positive integers separated by "
                              << "commas, e.g. mlp:784,128,10");
    widths.push_back(width);
    cursor = next + 1;
  }
  DDP_CHECK_ARG(widths.size() >= 2, "--model '" << spec << "' needs at least an input and an "
                                                << "output width, e.g. mlp:784,10");
  return widths;
}

kernels::Activation parse_activation(const std::string& name) {
  if (name == "relu") return kernels::Activation::relu;
  if (name == "gelu") return kernels::Activation::gelu;
  if (name == "tanh") return kernels::Activation::tanh;
  DDP_THROW(InvalidArgument, "--activation '" << name << "' is not one of relu, gelu, tanh");
}

std::unique_ptr<Sequential> make_mlp(const MlpOptions& options) {
  DDP_CHECK(options.widths.size() >= 2, "an MLP needs at least an input and an output width");
  auto model = std::make_unique<Sequential>();
  Generator generator(options.seed);
  for (std::size_t i = 0; i + 1 < options.widths.size(); ++i) {
    model->emplace<Linear>(options.widths[i], options.widths[i + 1], generator);
    if (i + 2 == options.widths.size()) break;  // no activation after the output layer
    model->emplace<ActivationLayer>(options.activation);
    if (options.dropout > 0) {
      model->emplace<Dropout>(options.dropout, derive_seed(options.dropout_seed, i));
    }
  }
  model->set_input_grad_needed(false);
  return model;
}

}  // namespace ddp::nn
