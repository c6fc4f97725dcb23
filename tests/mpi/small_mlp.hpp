// The model the parallel tests train, and how close two of its trainings ended.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "ddp/core/random.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/sequential.hpp"

namespace ddp::testing_env {

constexpr std::int64_t kFeatures = 12;
constexpr std::int64_t kClasses = 5;

// Linear/ReLU, kFeatures -> hidden -> hidden -> kClasses, drawn from seed; no input gradient.
inline std::unique_ptr<nn::Sequential> small_mlp(std::uint64_t seed, std::int64_t hidden = 24) {
  Generator generator(seed);
  auto model = std::make_unique<nn::Sequential>();
  model->emplace<nn::Linear>(kFeatures, hidden, generator);
  model->emplace<nn::ReLU>();
  model->emplace<nn::Linear>(hidden, hidden, generator);
  model->emplace<nn::ReLU>();
  model->emplace<nn::Linear>(hidden, kClasses, generator);
  model->set_input_grad_needed(false);
  return model;
}

// max |a - b| / max |b| over the tensor: float32 sums in a different order differ by rounding.
inline double relative_difference(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 1e-12;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(double(a.data<float>()[i]) - double(b.data<float>()[i])));
    scale = std::max(scale, std::abs(double(b.data<float>()[i])));
  }
  return diff / scale;
}

}  // namespace ddp::testing_env
