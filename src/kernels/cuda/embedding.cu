// Row lookups in a CUDA table and their gradient, and the index check they and the
// cross-entropy's targets share.
#include "cuda_kernels.hpp"
#include "reduce.cuh"

namespace ddp::kernels::cuda {

std::int64_t count_outside(const Tensor& indices, std::int64_t limit) {
  const std::int64_t* index = detail::data_on<std::int64_t>(indices, indices.device(), "indices");
  const double outside = reduce_sum<double>(
      indices.device(), indices.numel(),
      [=] __device__(std::int64_t i) { return index[i] < 0 || index[i] >= limit ? 1.0 : 0.0; });
  return static_cast<std::int64_t>(outside);
}

void gather_rows(const Tensor& table, const Tensor& indices, Tensor& out) {
  const Device device = out.device();
  const float* src = detail::data_on<float>(table, device, "gather_rows");
  const std::int64_t* index = detail::data_on<std::int64_t>(indices, device, "gather_rows");
  float* dst = detail::data_on<float>(out, device, "gather_rows");
  const std::int64_t dim = out.size(1);
  for_each_index(device, out.numel(),
                 [=] __device__(std::int64_t i) { dst[i] = src[index[i / dim] * dim + i % dim]; });
}

void scatter_add_rows(const Tensor& grad_out, const Tensor& indices, Tensor& grad_table) {
  const Device device = grad_table.device();
  const float* src = detail::data_on<float>(grad_out, device, "scatter_add_rows");
  const std::int64_t* index = detail::data_on<std::int64_t>(indices, device, "scatter_add_rows");
  float* dst = detail::data_on<float>(grad_table, device, "scatter_add_rows");
  const std::int64_t dim = grad_out.size(1);
  // Atomic adds: repeated indices add up in no fixed order, so the table's gradient may differ
  // from the CPU's (and from run to run) by rounding where an index repeats.
  for_each_index(device, grad_out.numel(), [=] __device__(std::int64_t i) {
    atomicAdd(dst + index[i / dim] * dim + i % dim, src[i]);
  });
}

}  // namespace ddp::kernels::cuda
