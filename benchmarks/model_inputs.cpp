#include "model_inputs.hpp"

namespace ddp::bench {

Tensor random_inputs(const models::ModelSignature& signature, std::int64_t rows,
                     Generator& generator, float scale) {
  Shape shape{rows};
  shape.insert(shape.end(), signature.sample_shape.begin(), signature.sample_shape.end());
  Tensor inputs = Tensor::empty(std::move(shape));
  float* data = inputs.data<float>();
  for (std::int64_t i = 0; i < inputs.numel(); ++i) data[i] = generator.uniform(-scale, scale);
  return inputs;
}

}  // namespace ddp::bench
