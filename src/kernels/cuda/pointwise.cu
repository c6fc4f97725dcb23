// Scaling, sums, scaled adds and products on CUDA tensors. Each element gets the CPU kernel's float
// operations, rounded one by one (no FMA contraction), so the results equal the CPU's bit for bit.
#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {

void scale_(Tensor& x, float alpha) {
  float* data = detail::data_on<float>(x, x.device(), "scale_");
  for_each_index(x.device(), x.numel(), [=] __device__(std::int64_t i) { data[i] *= alpha; });
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const Device device = out.device();
  const float* x = detail::data_on<float>(a, device, "add");
  const float* y = detail::data_on<float>(b, device, "add");
  float* z = detail::data_on<float>(out, device, "add");
  for_each_index(device, out.numel(),
                 [=] __device__(std::int64_t i) { z[i] = __fadd_rn(x[i], y[i]); });
}

void add_scaled_(Tensor& y, float alpha, const Tensor& x) {
  const Device device = y.device();
  float* out = detail::data_on<float>(y, device, "add_scaled_");
  const float* in = detail::data_on<float>(x, device, "add_scaled_");
  for_each_index(device, y.numel(), [=] __device__(std::int64_t i) {
    out[i] = __fadd_rn(out[i], __fmul_rn(alpha, in[i]));
  });
}

void multiply(const Tensor& a, const Tensor& b, Tensor& out) {
  const Device device = out.device();
  const float* x = detail::data_on<float>(a, device, "multiply");
  const float* y = detail::data_on<float>(b, device, "multiply");
  float* z = detail::data_on<float>(out, device, "multiply");
  for_each_index(device, out.numel(), [=] __device__(std::int64_t i) { z[i] = x[i] * y[i]; });
}

}  // namespace ddp::kernels::cuda
