// The last step of an average over ranks: the sum divided by their number, element by element, as
// every path of ReduceOp::avg does it (so that they give the same bits).
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::comm {

// tensor (float32 or float64, on the host) /= divisor, in place.
void divide_by(const Tensor& tensor, int divisor);

}  // namespace ddp::comm
