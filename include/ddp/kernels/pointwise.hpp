// Elementwise arithmetic on float32 tensors: scaling, sums, scaled adds, products, dropout masks.
#pragma once

#include "ddp/core/random.hpp"
#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// x *= alpha.
void scale_(Tensor& x, float alpha);

// out = a + b elementwise (a residual connection); equal element counts, out may be a or b.
void add(const Tensor& a, const Tensor& b, Tensor& out);

// y += alpha * x.
void add_scaled_(Tensor& y, float alpha, const Tensor& x);

// out = a * b elementwise; out may be a or b.
void multiply(const Tensor& a, const Tensor& b, Tensor& out);

// Each element of mask becomes 1 / (1 - p) with probability 1 - p and 0 otherwise (an inverted
// dropout mask), drawn from generator in element order. p in [0, 1).
void dropout_mask(Tensor& mask, float p, Generator& generator);

}  // namespace ddp::kernels
