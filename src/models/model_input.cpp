#include "ddp/models/model_input.hpp"

#include "ddp/core/error.hpp"

namespace ddp::models {

Tensor as_model_input(const Tensor& features, const ModelSignature& signature) {
  DDP_CHECK_ARG(features.ndim() >= 1, "a batch of features needs a sample dimension, not a scalar");
  const Shape sample(features.shape().begin() + 1, features.shape().end());
  const std::int64_t values = numel(sample);
  const std::int64_t expected = numel(signature.sample_shape);
  DDP_CHECK_ARG(values == expected, "a sample of shape "
                                        << to_string(sample) << " (" << values
                                        << " values) is not the model's input "
                                        << "of shape " << to_string(signature.sample_shape) << " ("
                                        << expected << " values)");
  Shape shape = signature.sample_shape;
  shape.insert(shape.begin(), features.size(0));
  return features.reshape(std::move(shape));
}

}  // namespace ddp::models
