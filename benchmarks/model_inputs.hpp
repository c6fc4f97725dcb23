// Inputs for any registered model, for the benchmarks that time one on made-up data.
#pragma once

#include <cstdint>

#include "ddp/core/random.hpp"
#include "ddp/core/tensor.hpp"
#include "ddp/models/registry.hpp"

namespace ddp::bench {

// rows samples of the model's input shape, uniform in [-scale, scale]; for a language model
// (signature.sequence > 0) int64 tokens uniform in [0, classes).
Tensor random_inputs(const models::ModelSignature& signature, std::int64_t rows,
                     Generator& generator, float scale = 1.0f);

}  // namespace ddp::bench
