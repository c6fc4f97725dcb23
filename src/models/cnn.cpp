#include "ddp/models/cnn.hpp"

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "ddp/nn/conv2d.hpp"
#include "ddp/nn/dropout.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/pooling.hpp"
#include "spec_arguments.hpp"

namespace ddp::models {
namespace {

constexpr const char* kExample = "cnn:32,64:512";

class CnnFamily : public ModelFamily {
 public:
  std::string name() const override { return "cnn"; }
  std::string usage() const override {
    return "cnn:C1,C2,...:HIDDEN (e.g. cnn:32,64:512; input shape and classes from the data)";
  }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    const std::vector<std::string> fields = detail::split_fields(arguments);
    DDP_CHECK_OPTION(
        fields.size() == 2, "model", spec,
        "expected the channels of each stage, a colon and the hidden width, e.g. " << kExample);
    const std::vector<std::int64_t> hidden = detail::parse_positive_list(spec, fields[1], kExample);
    DDP_CHECK_OPTION(hidden.size() == 1, "model", spec,
                     "expected one hidden width after the colon, e.g. " << kExample);
    const Shape& input = detail::image_shape(spec, options);
    CnnOptions cnn{.input_shape = input,
                   .channels = detail::parse_positive_list(spec, fields[0], kExample),
                   .hidden = hidden[0],
                   .classes = options.classes,
                   .activation = options.activation,
                   .dropout = options.dropout,
                   .seed = options.seed,
                   .dropout_seed = options.dropout_seed};
    const std::int64_t stages = static_cast<std::int64_t>(cnn.channels.size());
    DDP_CHECK_OPTION(stages < 30 && (input[1] >> stages) > 0 && (input[2] >> stages) > 0, "model",
                     spec,
                     stages << " stages halve " << input[1] << "x" << input[2]
                            << " images to nothing; use fewer stages or larger images");
    return {make_cnn(cnn), {.sample_shape = input, .classes = options.classes}};
  }
};

[[maybe_unused]] const bool registered = register_family(std::make_unique<CnnFamily>());

}  // namespace

std::unique_ptr<nn::Sequential> make_cnn(const CnnOptions& options) {
  DDP_CHECK(options.input_shape.size() == 3 && !options.channels.empty(),
            "a CNN needs [channels, height, width] input and at least one stage");
  auto model = std::make_unique<nn::Sequential>();
  Generator generator(options.seed);
  std::int64_t channels = options.input_shape[0];
  std::int64_t height = options.input_shape[1];
  std::int64_t width = options.input_shape[2];
  for (const std::int64_t out : options.channels) {
    model->emplace<nn::Conv2d>(channels, out, 5, generator, nn::Conv2dOptions{.padding = 2});
    model->emplace<nn::BatchNorm2d>(out);
    model->emplace<nn::ActivationLayer>(options.activation);
    model->emplace<nn::MaxPool2d>(2);
    channels = out;
    height /= 2;
    width /= 2;
  }
  model->emplace<nn::Flatten>();
  model->emplace<nn::Linear>(channels * height * width, options.hidden, generator);
  model->emplace<nn::ActivationLayer>(options.activation);
  if (options.dropout > 0) model->emplace<nn::Dropout>(options.dropout, options.dropout_seed);
  model->emplace<nn::Linear>(options.hidden, options.classes, generator);
  model->set_input_grad_needed(false);
  return model;
}

}  // namespace ddp::models
