// Row lookups in a table and their gradient: the kernels behind nn::Embedding.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

// out [n, dim] row i = table [rows, dim] row indices[i]; indices: int64 [n], each in [0, rows).
void gather_rows(const Tensor& table, const Tensor& indices, Tensor& out);

// grad_table row indices[i] += grad_out [n, dim] row i (repeated indices add up).
void scatter_add_rows(const Tensor& grad_out, const Tensor& indices, Tensor& grad_table);

}  // namespace ddp::kernels
