#include "ddp/kernels/embedding.hpp"

#include <algorithm>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

void check_lookup(const Tensor& table, const Tensor& indices, const Tensor& rows, const char* op) {
  DDP_CHECK(table.ndim() == 2 && rows.ndim() == 2 && rows.size(1) == table.size(1) &&
                rows.size(0) == indices.numel(),
            op << ": table " << ddp::to_string(table.shape()) << ", indices "
               << ddp::to_string(indices.shape()) << " and rows " << ddp::to_string(rows.shape())
               << " do not match; need [rows, dim], [n] and [n, dim]");
  DDP_CHECK(indices.dtype() == DType::int64,
            op << ": indices must be int64, got " << ddp::to_string(indices.dtype()));
  detail::check_on(indices, table.device(), op);
  // On a GPU the indices are counted there, and read back only to name the first bad one.
  if (table.device().is_cuda() && cuda::count_outside(indices, table.size(0)) == 0) return;
  const Tensor host = indices.to(Device::cpu());
  const std::int64_t* index = host.data<std::int64_t>();
  const std::int64_t n = host.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    DDP_CHECK(0 <= index[i] && index[i] < table.size(0),
              op << ": index " << index[i] << " at position " << i << " is outside [0, "
                 << table.size(0) << "); check the token ids against the table size");
  }
}

}  // namespace

void gather_rows(const Tensor& table, const Tensor& indices, Tensor& out) {
  check_lookup(table, indices, out, "gather_rows");
  if (out.device().is_cuda()) return cuda::gather_rows(table, indices, out);
  const std::int64_t dim = table.size(1);
  const float* src = detail::cpu_floats(table, "gather_rows");
  float* dst = detail::cpu_floats(out, "gather_rows");
  const std::int64_t* index = indices.data<std::int64_t>();
  const std::int64_t n = indices.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy(src + index[i] * dim, src + (index[i] + 1) * dim, dst + i * dim);
  }
}

void scatter_add_rows(const Tensor& grad_out, const Tensor& indices, Tensor& grad_table) {
  check_lookup(grad_table, indices, grad_out, "scatter_add_rows");
  if (grad_table.device().is_cuda()) return cuda::scatter_add_rows(grad_out, indices, grad_table);
  const std::int64_t dim = grad_table.size(1);
  const float* src = detail::cpu_floats(grad_out, "scatter_add_rows");
  float* dst = detail::cpu_floats(grad_table, "scatter_add_rows");
  const std::int64_t* index = indices.data<std::int64_t>();
  const std::int64_t n = indices.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    float* row = dst + index[i] * dim;
    for (std::int64_t d = 0; d < dim; ++d) row[d] += src[i * dim + d];
  }
}

}  // namespace ddp::kernels
