// Element type conversions of whole tensors: float32 <-> bfloat16, for gradient compression.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// dst (bfloat16) = src (float32) rounded to nearest even; same element count.
void to_bfloat16(const Tensor& src, Tensor& dst);

// dst (float32) = src (bfloat16), exactly; same element count.
void from_bfloat16(const Tensor& src, Tensor& dst);

}  // namespace ddp::kernels
