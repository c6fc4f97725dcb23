#include "ddp/kernels/reduce.hpp"

#include "checks.hpp"

namespace ddp::kernels {

double sum(const Tensor& x) {
  const float* data = detail::cpu_floats(x, "sum");
  double total = 0.0;
  for (std::int64_t i = 0; i < x.numel(); ++i) total += data[i];
  return total;
}

double squared_norm(const Tensor& x) {
  const float* data = detail::cpu_floats(x, "squared_norm");
  double total = 0.0;
  for (std::int64_t i = 0; i < x.numel(); ++i) total += static_cast<double>(data[i]) * data[i];
  return total;
}

}  // namespace ddp::kernels
