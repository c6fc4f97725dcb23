// Row-wise softmax and log-softmax of a matrix, stabilised by each row's maximum as PyTorch does.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// y [n, c] = softmax(x [n, c]) along each row; y may be x.
void softmax_rows(const Tensor& x, Tensor& y);

// y [n, c] = log_softmax(x [n, c]) along each row, as x - max - log(sum(exp(x - max))) in that
// order (PyTorch's, which keeps large inputs exact); y may be x.
void log_softmax_rows(const Tensor& x, Tensor& y);

}  // namespace ddp::kernels
