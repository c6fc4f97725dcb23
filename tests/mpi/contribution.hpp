// The values the collective tests send: what rank r contributes at element i, distinct per rank
// and per position, and exact in every dtype (so sums can be compared with ==).
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::testing_env {

inline double contribution(int rank, std::int64_t i) {
  return rank + 1 + static_cast<double>(i % 5);
}

// Sets every element of a host tensor of T to rank's contribution.
template <typename T>
void fill(Tensor& tensor, int rank) {
  T* data = tensor.data<T>();
  for (std::int64_t i = 0; i < tensor.numel(); ++i) {
    data[i] = static_cast<T>(contribution(rank, i));
  }
}

// A new host tensor of count elements holding rank's contribution.
template <typename T>
Tensor filled(std::int64_t count, int rank) {
  Tensor tensor = Tensor::empty({count}, dtype_of<T>());
  fill<T>(tensor, rank);
  return tensor;
}

}  // namespace ddp::testing_env
