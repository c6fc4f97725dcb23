// float32 <-> bfloat16 of whole CUDA tensors, with the bit-level rounding of core/bfloat16.hpp
// (to nearest, ties to even; NaN stays a quiet NaN), so both sides of a reduction round alike.
#include <cstdint>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {

void to_bfloat16(const Tensor& src, Tensor& dst) {
  const Device device = dst.device();
  const float* in = detail::data_on<float>(src, device, "to_bfloat16");
  auto* out = static_cast<std::uint16_t*>(dst.data_ptr());
  for_each_index(device, dst.numel(), [=] __device__(std::int64_t i) {
    const std::uint32_t bits = __float_as_uint(in[i]);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
      out[i] = static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    } else {
      out[i] = static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }
  });
}

void from_bfloat16(const Tensor& src, Tensor& dst) {
  const Device device = dst.device();
  detail::check_on(src, device, "from_bfloat16");
  const auto* in = static_cast<const std::uint16_t*>(src.data_ptr());
  float* out = detail::data_on<float>(dst, device, "from_bfloat16");
  for_each_index(device, dst.numel(), [=] __device__(std::int64_t i) {
    out[i] = __uint_as_float(static_cast<std::uint32_t>(in[i]) << 16);
  });
}

}  // namespace ddp::kernels::cuda
