// A permutation as the copy loops see it (private to src/kernels): shape.cpp reduces the user's
// shape and dims to it, and the CPU and CUDA copies both walk it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ddp::kernels::detail {

constexpr int kMaxPermuteDims = 8;

// y[i_0, .., i_n-1] = x[i_0 * in_strides[0] + .. + i_n-1 * in_strides[n-1]] over the contiguous
// y of shape sizes[0..n); strides in elements of elem_size bytes. Dimensions of size 1 are
// dropped and neighbours that are adjacent in x too are merged, so n >= 1 is as small as the
// permutation allows (1 for any identity) and every size is > 1 unless the tensor has <= 1
// element; in_strides[n-1] == 1 exactly when y's rows are contiguous runs of x.
struct PermutePlan {
  int ndim = 0;
  std::int64_t sizes[kMaxPermuteDims] = {};
  std::int64_t in_strides[kMaxPermuteDims] = {};
  std::size_t elem_size = 0;
};

}  // namespace ddp::kernels::detail
