#include "ddp/models/resnet.hpp"

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/models/registry.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "ddp/nn/conv2d.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/pooling.hpp"
#include "ddp/nn/workspace.hpp"
#include "spec_arguments.hpp"

namespace ddp::models {
namespace {

// 3x3 convolutions without bias, as a BatchNorm follows each.
nn::Conv2dOptions conv3x3(std::int64_t stride) {
  return {.stride = stride, .padding = 1, .bias = false};
}

// y = act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x)), the shortcut x itself or, where the
// block changes the shape, downsample(x) = bn(conv1x1(x)).
class BasicBlock : public nn::Module {
 public:
  BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride, Generator& generator,
             kernels::Activation activation)
      : conv1_(in, out, 3, generator, conv3x3(stride)),
        bn1_(out),
        activation_(activation),
        conv2_(out, out, 3, generator, conv3x3(1)),
        bn2_(out) {
    register_module("conv1", conv1_);
    register_module("bn1", bn1_);
    register_module("relu", activation_);
    register_module("conv2", conv2_);
    register_module("bn2", bn2_);
    if (stride != 1 || in != out) {
      downsample_ = std::make_unique<nn::Sequential>();
      downsample_->emplace<nn::Conv2d>(in, out, 1, generator,
                                       nn::Conv2dOptions{.stride = stride, .bias = false});
      downsample_->emplace<nn::BatchNorm2d>(out);
      register_module("downsample", *downsample_);
    }
  }

  void set_input_grad_needed(bool needed) override {
    Module::set_input_grad_needed(needed);
    conv1_.set_input_grad_needed(needed);
    if (downsample_) downsample_->set_input_grad_needed(needed);
  }

 protected:
  Tensor forward_impl(const Tensor& input) override {
    Tensor h = activation_.forward(bn1_.forward(conv1_.forward(input)));
    h = bn2_.forward(conv2_.forward(h));
    const Tensor shortcut = downsample_ ? downsample_->forward(input) : input;
    Tensor sum = frames_[call_index()].sum.get(h.shape(), h.device());
    kernels::add(h, shortcut, sum);
    return activation_.forward(sum);
  }

  // The reverse of forward's calls: the second activation, the shortcut, then the branch.
  Tensor backward_impl(const Tensor& grad_output) override {
    const Tensor grad_sum = activation_.backward(grad_output);
    const Tensor through_shortcut = downsample_ ? downsample_->backward(grad_sum) : grad_sum;
    Tensor grad = conv2_.backward(bn2_.backward(grad_sum));
    grad = conv1_.backward(bn1_.backward(activation_.backward(grad)));
    if (!input_grad_needed()) return {};
    Tensor grad_input = frames_[call_index()].grad_input.get(grad.shape(), grad.device());
    kernels::add(grad, through_shortcut, grad_input);
    return grad_input;
  }

 private:
  struct Frame {
    nn::Workspace sum;
    nn::Workspace grad_input;
  };

  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::ActivationLayer activation_;  // used twice, as torchvision's block uses its one ReLU
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  std::unique_ptr<nn::Sequential> downsample_;  // null: the identity shortcut
  nn::CallFrames<Frame> frames_;
};

class ResNetFamily : public ModelFamily {
 public:
  std::string name() const override { return "resnet"; }
  std::string usage() const override {
    return "resnet:N (6N+2 layers, e.g. resnet:3; input shape and classes from the data)";
  }
  Model build(const std::string& spec, const std::string& arguments,
              const BuildOptions& options) const override {
    const std::vector<std::int64_t> blocks =
        detail::parse_positive_list(spec, arguments, "resnet:3");
    DDP_CHECK_OPTION(blocks.size() == 1, "model", spec,
                     "expected the number of blocks per stage, e.g. resnet:3 (ResNet-20)");
    const Shape& input = detail::image_shape(spec, options);
    return {make_resnet({.blocks_per_stage = blocks[0],
                         .input_shape = input,
                         .classes = options.classes,
                         .activation = options.activation,
                         .seed = options.seed}),
            {.sample_shape = input, .classes = options.classes}};
  }
};

[[maybe_unused]] const bool registered = register_family(std::make_unique<ResNetFamily>());

}  // namespace

std::unique_ptr<nn::Sequential> make_resnet(const ResNetOptions& options) {
  DDP_CHECK(options.input_shape.size() == 3 && options.blocks_per_stage > 0,
            "a ResNet needs [channels, height, width] input and at least one block per stage");
  auto model = std::make_unique<nn::Sequential>();
  Generator generator(options.seed);
  model->emplace_named<nn::Conv2d>("conv1", options.input_shape[0], 16, 3, generator, conv3x3(1));
  model->emplace_named<nn::BatchNorm2d>("bn1", 16);
  model->emplace_named<nn::ActivationLayer>("relu", options.activation);
  std::int64_t channels = 16;
  const std::int64_t widths[] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    // Filled before it joins the model, which names what it holds when it joins.
    auto layer = std::make_unique<nn::Sequential>();
    for (std::int64_t block = 0; block < options.blocks_per_stage; ++block) {
      const std::int64_t stride = stage > 0 && block == 0 ? 2 : 1;
      layer->emplace<BasicBlock>(channels, widths[stage], stride, generator, options.activation);
      channels = widths[stage];
    }
    model->append(std::move(layer), "layer" + std::to_string(stage + 1));
  }
  model->emplace_named<nn::AdaptiveAvgPool2d>("avgpool", 1);
  model->emplace_named<nn::Flatten>("flatten");
  model->emplace_named<nn::Linear>("fc", channels, options.classes, generator);
  model->set_input_grad_needed(false);
  return model;
}

}  // namespace ddp::models
