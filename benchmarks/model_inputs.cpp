#include "model_inputs.hpp"

namespace ddp::bench {

Tensor random_inputs(const models::ModelSignature& signature, std::int64_t rows,
                     Generator& generator, float scale) {
  Shape shape{rows};
  shape.insert(shape.end(), signature.sample_shape.begin(), signature.sample_shape.end());
  if (signature.sequence > 0) {
    Tensor tokens = Tensor::empty(std::move(shape), DType::int64);
    std::int64_t* data = tokens.data<std::int64_t>();
    const auto vocab = static_cast<std::uint64_t>(signature.classes);
    for (std::int64_t i = 0; i < tokens.numel(); ++i) {
      data[i] = static_cast<std::int64_t>(generator.uniform_int(vocab));
    }
    return tokens;
  }
  Tensor inputs = Tensor::empty(std::move(shape));
  float* data = inputs.data<float>();
  for (std::int64_t i = 0; i < inputs.numel(); ++i) data[i] = generator.uniform(-scale, scale);
  return inputs;
}

}  // namespace ddp::bench
