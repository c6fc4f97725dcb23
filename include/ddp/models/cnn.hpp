// The convolutional family, "cnn:32,64:512": stages of Conv2d(k=5, padding=2) - BatchNorm2d -
// activation - MaxPool2d(2), then Flatten, Linear(-> hidden), activation, Linear(-> classes), as
// the nn.Sequential PyTorch builds for the same layers (so "0.weight", "1.running_mean", ...).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/nn/sequential.hpp"

namespace ddp::models {

struct CnnOptions {
  Shape input_shape = {1, 28, 28};     // one sample: {channels, height, width}
  std::vector<std::int64_t> channels;  // of each convolution stage: {32, 64}
  std::int64_t hidden = 512;           // the classifier's hidden width
  std::int64_t classes = 10;
  kernels::Activation activation = kernels::Activation::relu;
  // Dropout before the last Linear; 0 adds no Dropout layer (which would shift the last
  // Linear's index by one, as in PyTorch).
  float dropout = 0.0f;
  std::uint64_t seed = 0;  // Generator(seed), layer by layer: every rank builds the same replica
  std::uint64_t dropout_seed = 0;
};

// The input is data: the first convolution computes no input gradient.
std::unique_ptr<nn::Sequential> make_cnn(const CnnOptions& options);

}  // namespace ddp::models
