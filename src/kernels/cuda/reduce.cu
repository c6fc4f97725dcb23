// Sums of a whole CUDA tensor, accumulated in double on the device; one value comes back.
#include "cuda_kernels.hpp"
#include "reduce.cuh"

namespace ddp::kernels::cuda {

double sum(const Tensor& x) {
  const float* data = detail::data_on<float>(x, x.device(), "sum");
  return reduce_sum<double>(x.device(), x.numel(), [=] __device__(std::int64_t i) {
    return static_cast<double>(data[i]);
  });
}

double squared_norm(const Tensor& x) {
  const float* data = detail::data_on<float>(x, x.device(), "squared_norm");
  return reduce_sum<double>(x.device(), x.numel(), [=] __device__(std::int64_t i) {
    const double v = data[i];
    return v * v;
  });
}

}  // namespace ddp::kernels::cuda
