#include "ddp/kernels/reduce.hpp"

#include <array>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "lane_sums.hpp"

namespace ddp::kernels {
namespace {

template <typename F>
double lane_sum(const float* data, std::int64_t n, F f) {
  return detail::lane_sums<1>(
      n, [&](std::int64_t i) { return std::array<double, 1>{f(static_cast<double>(data[i]))}; })[0];
}

}  // namespace

double sum(const Tensor& x) {
  if (x.device().is_cuda()) return cuda::sum(x);
  return lane_sum(detail::cpu_floats(x, "sum"), x.numel(), [](double v) { return v; });
}

double squared_norm(const Tensor& x) {
  if (x.device().is_cuda()) return cuda::squared_norm(x);
  return lane_sum(detail::cpu_floats(x, "squared_norm"), x.numel(), [](double v) { return v * v; });
}

}  // namespace ddp::kernels
