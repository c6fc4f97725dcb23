// Parameter initialisation as PyTorch's layers do it by default, drawn from ddp's Generator so that
// every rank builds the same weights from the same seed.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp::nn {

// The bound of nn.Linear's and nn.Conv2d's default init, kaiming_uniform(a=sqrt(5)) for the weight
// and the same for the bias: 1/sqrt(fan_in), fan_in being the inputs one output sums over.
float fan_in_uniform_bound(std::int64_t fan_in);

// Every element of t (float32, on the host) uniform in [-bound, bound), drawn in order.
void fill_uniform(Tensor& t, float bound, Generator& generator);

// Every element of t (float32, on the host) normal with mean 0 and standard deviation std, drawn
// in order (GPT-2's initialisation: normal(0, 0.02)).
void fill_normal(Tensor& t, float std, Generator& generator);

}  // namespace ddp::nn
