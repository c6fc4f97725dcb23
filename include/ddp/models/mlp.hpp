// The multi-layer perceptron family, "mlp:784,128,10": Linear layers with an activation (and
// optionally dropout) between them, as the nn.Sequential PyTorch builds for the same layers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ddp/kernels/activation.hpp"
#include "ddp/nn/sequential.hpp"

namespace ddp::models {

struct MlpOptions {
  // Layer widths, input first, output last: {784, 128, 10} is Linear(784,128), act, Linear(128,10).
  std::vector<std::int64_t> widths;
  kernels::Activation activation = kernels::Activation::relu;  // after every hidden Linear
  // Dropout after every hidden activation; 0 adds no Dropout layer (the parameter layout is the
  // same either way, as in PyTorch, where Dropout has no parameters).
  float dropout = 0.0f;
  // Initial weights: Generator(seed), layer by layer, so every rank builds the same replica.
  std::uint64_t seed = 0;
  // Dropout masks: give each rank its own, e.g. derive_seed(seed, rank).
  std::uint64_t dropout_seed = 0;
};

// The nn.Sequential PyTorch builds for the same layers, so parameters export 1:1. The input is
// data: its gradient is not computed, which saves the first layer's largest GEMM.
std::unique_ptr<nn::Sequential> make_mlp(const MlpOptions& options);

}  // namespace ddp::models
