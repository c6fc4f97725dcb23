#include "ddp/kernels/reduce.hpp"

#include <array>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

// Sums f(x[i]) in double over kLanes independent partial sums: one chain would wait on the
// previous add for every element, lanes let the compiler vectorise without reassociating.
template <typename F>
double lane_sum(const float* data, std::int64_t n, F f) {
  constexpr std::int64_t kLanes = 8;
  std::array<double, kLanes> lanes{};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t j = 0; j < kLanes; ++j) lanes[j] += f(static_cast<double>(data[i + j]));
  }
  double total = 0.0;
  for (; i < n; ++i) total += f(static_cast<double>(data[i]));
  for (double lane : lanes) total += lane;
  return total;
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
