#include "ddp/data/normalize.hpp"

#include <cmath>

#include "ddp/core/error.hpp"

namespace ddp::data {

TensorDataset normalize(const TensorDataset& dataset, const Normalization& normalization) {
  DDP_CHECK_ARG(std::isfinite(normalization.mean) && std::isfinite(normalization.std) &&
                    normalization.std > 0,
                "normalisation mean " << normalization.mean << " and std " << normalization.std
                                      << " must be finite, the std positive");
  const Tensor& features = dataset.features();
  Tensor normalized = Tensor::empty(features.shape());
  const float* in = features.data<float>();
  float* out = normalized.data<float>();
  // Multiplying by the reciprocal would round differently from torchvision's division.
  const auto mean = static_cast<float>(normalization.mean);
  const auto std = static_cast<float>(normalization.std);
  for (std::int64_t i = 0; i < features.numel(); ++i) out[i] = (in[i] - mean) / std;
  return TensorDataset(std::move(normalized), dataset.targets(), dataset.class_count());
}

}  // namespace ddp::data
