#include "ddp/kernels/pointwise.hpp"

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {

void scale_(Tensor& x, float alpha) {
  if (x.device().is_cuda()) return cuda::scale_(x, alpha);
  float* data = detail::cpu_floats(x, "scale_");
  const std::int64_t n = x.numel();
  for (std::int64_t i = 0; i < n; ++i) data[i] *= alpha;
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  detail::check_same_numel(a, b, "add");
  detail::check_same_numel(a, out, "add");
  if (out.device().is_cuda()) return cuda::add(a, b, out);
  const float* x = detail::cpu_floats(a, "add");
  const float* y = detail::cpu_floats(b, "add");
  float* z = detail::cpu_floats(out, "add");
  const std::int64_t n = out.numel();
  for (std::int64_t i = 0; i < n; ++i) z[i] = x[i] + y[i];
}

void add_scaled_(Tensor& y, float alpha, const Tensor& x) {
  detail::check_same_numel(x, y, "add_scaled_");
  if (y.device().is_cuda()) return cuda::add_scaled_(y, alpha, x);
  float* out = detail::cpu_floats(y, "add_scaled_");
  const float* in = detail::cpu_floats(x, "add_scaled_");
  const std::int64_t n = y.numel();
  for (std::int64_t i = 0; i < n; ++i) out[i] += alpha * in[i];
}

void multiply(const Tensor& a, const Tensor& b, Tensor& out) {
  detail::check_same_numel(a, b, "multiply");
  detail::check_same_numel(a, out, "multiply");
  if (out.device().is_cuda()) return cuda::multiply(a, b, out);
  const float* x = detail::cpu_floats(a, "multiply");
  const float* y = detail::cpu_floats(b, "multiply");
  float* z = detail::cpu_floats(out, "multiply");
  const std::int64_t n = out.numel();
  for (std::int64_t i = 0; i < n; ++i) z[i] = x[i] * y[i];
}

void dropout_mask(Tensor& mask, float p, Generator& generator) {
  DDP_CHECK(0.0f <= p && p < 1.0f, "dropout probability " << p << " must be in [0, 1)");
  if (mask.device().is_cuda()) {
    // Drawn on the device from the generator's state, which then skips the draws made there: the
    // same masks as the CPU's, without a copy from the host.
    cuda::dropout_mask(mask, p, generator.state());
    generator.discard(static_cast<std::uint64_t>(mask.numel()));
    return;
  }
  float* data = detail::cpu_floats(mask, "dropout_mask");
  const float keep_scale = 1.0f / (1.0f - p);
  const std::int64_t n = mask.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    data[i] = generator.uniform() < p ? 0.0f : keep_scale;
  }
}

}  // namespace ddp::kernels
