// A batch's features as a model's input: [n, sample_shape...] of its signature. A reshape that
// copies nothing, so that images ([n, 1, 28, 28]) feed an MLP ([n, 784]) and flat CSV rows feed a
// model of images, whenever a sample holds as many values as the model takes.
#pragma once

#include "ddp/core/tensor.hpp"
#include "ddp/models/registry.hpp"

namespace ddp::models {

// features: [n, ...]. An InvalidArgument when its samples hold another number of values than
// signature.sample_shape: "a sample of shape [100] (100 values) is not the model's input of shape
// [1, 28, 28] (784 values)".
Tensor as_model_input(const Tensor& features, const ModelSignature& signature);

}  // namespace ddp::models
