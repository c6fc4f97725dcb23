// Standardising a dataset's features: x -> (x - mean) / std, torchvision's Normalize for images of
// one channel, applied once to the samples in memory rather than to every batch.
#pragma once

#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {

struct Normalization {
  double mean = 0.0;
  double std = 1.0;  // positive
};

// The same samples, of the same shape, with every feature standardised; the labels or targets are
// shared with dataset, not copied.
TensorDataset normalize(const TensorDataset& dataset, const Normalization& normalization);

}  // namespace ddp::data
