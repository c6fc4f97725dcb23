// The CIFAR-style residual network of He et al. 2016, section 4.2, "resnet:N" (6N+2 layers): a
// 3x3 convolution to 16 channels, three stages of N basic blocks with 16, 32 and 64 channels
// (stride 2 at the start of stages 2 and 3, where a 1x1 convolution and a BatchNorm project the
// shortcut), global average pooling and a Linear to the classes. Names follow torchvision's
// ResNet: "conv1", "bn1", "layer2.0.conv1", "layer2.0.downsample.0", "fc".
#pragma once

#include <cstdint>
#include <memory>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/nn/sequential.hpp"

namespace ddp::models {

struct ResNetOptions {
  std::int64_t blocks_per_stage = 1;  // N: resnet:3 is ResNet-20
  Shape input_shape = {1, 28, 28};    // one sample: {channels, height, width}, any size
  std::int64_t classes = 10;
  kernels::Activation activation = kernels::Activation::relu;
  std::uint64_t seed = 0;  // Generator(seed), layer by layer: every rank builds the same replica
};

// The input is data: the first convolution computes no input gradient.
std::unique_ptr<nn::Sequential> make_resnet(const ResNetOptions& options);

}  // namespace ddp::models
