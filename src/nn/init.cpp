#include "ddp/nn/init.hpp"

#include <cmath>

namespace ddp::nn {

float fan_in_uniform_bound(std::int64_t fan_in) {
  return 1.0f / std::sqrt(static_cast<float>(fan_in));
}

void fill_uniform(Tensor& t, float bound, Generator& generator) {
  float* data = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = generator.uniform(-bound, bound);
}

void fill_normal(Tensor& t, float std, Generator& generator) {
  float* data = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = std * generator.normal();
}

}  // namespace ddp::nn
