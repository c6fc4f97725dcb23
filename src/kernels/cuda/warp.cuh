// Reductions across the 32 lanes of a warp (private to src/kernels/cuda, for .cu files): the
// row-wise kernels (softmax, layer norm) give each row one warp.
#pragma once

namespace ddp::kernels::cuda {

constexpr int kWarp = 32;

// Every lane gets the maximum of the warp's values; all 32 lanes must call it.
__device__ inline float warp_max(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = other > value ? other : value;
  }
  return value;
}

// Every lane gets the sum of the warp's values; all 32 lanes must call it.
__device__ inline float warp_sum(float value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

}  // namespace ddp::kernels::cuda
