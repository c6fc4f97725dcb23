#include "ddp/kernels/convert.hpp"

#include <cstdint>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "ddp/core/bfloat16.hpp"

namespace ddp::kernels {
namespace {

void check_pair(const Tensor& src, DType src_type, const Tensor& dst, DType dst_type,
                const char* name) {
  DDP_CHECK(src.dtype() == src_type && dst.dtype() == dst_type,
            name << " converts " << to_string(src_type) << " to " << to_string(dst_type) << ", got "
                 << to_string(src.dtype()) << " to " << to_string(dst.dtype()));
  DDP_CHECK(src.numel() == dst.numel(),
            name << ": " << src.numel() << " elements into " << dst.numel());
}

}  // namespace

void to_bfloat16(const Tensor& src, Tensor& dst) {
  check_pair(src, DType::float32, dst, DType::bfloat16, "to_bfloat16");
  if (dst.device().is_cuda()) return cuda::to_bfloat16(src, dst);
  const float* in = detail::cpu_floats(src, "to_bfloat16");
  auto* out = static_cast<std::uint16_t*>(dst.data_ptr());
  const std::int64_t count = src.numel();
  for (std::int64_t i = 0; i < count; ++i) out[i] = float_to_bfloat16(in[i]);
}

void from_bfloat16(const Tensor& src, Tensor& dst) {
  check_pair(src, DType::bfloat16, dst, DType::float32, "from_bfloat16");
  if (dst.device().is_cuda()) return cuda::from_bfloat16(src, dst);
  detail::check_on(src, Device::cpu(), "from_bfloat16");
  const auto* in = static_cast<const std::uint16_t*>(src.data_ptr());
  float* out = detail::cpu_floats(dst, "from_bfloat16");
  const std::int64_t count = src.numel();
  for (std::int64_t i = 0; i < count; ++i) out[i] = bfloat16_to_float(in[i]);
}

}  // namespace ddp::kernels
