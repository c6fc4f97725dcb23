// Permutes and the row copies of concat and split on CUDA tensors. Elements move as unsigned
// integers of their size, or several at once as one wider unit where sizes and addresses allow,
// never through float registers: the results are the CPU's bits.
#include <cstdint>
#include <initializer_list>

#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

using detail::PermutePlan;

// The widest unit of at most 16 bytes that divides every value (byte counts and addresses): a
// bfloat16 head of 64 elements moves as 8 uint4s, 8 times fewer loads and stores than elements.
std::size_t widest_unit(std::initializer_list<std::uint64_t> values) {
  std::uint64_t bits = 16;
  for (std::uint64_t value : values) bits |= value;
  return static_cast<std::size_t>(bits & (~bits + 1));  // the lowest set bit
}

std::uint64_t address(const void* p) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

template <typename Unit>
void permute_units(const Device& device, const void* x, const PermutePlan& plan, void* y) {
  const auto* src = static_cast<const Unit*>(x);
  auto* dst = static_cast<Unit*>(y);
  std::int64_t n = 1;
  for (int j = 0; j < plan.ndim; ++j) n *= plan.sizes[j];
  const PermutePlan p = plan;
  for_each_index(device, n, [=] __device__(std::int64_t i) {
    std::int64_t rest = i;
    std::int64_t in = 0;
    for (int j = p.ndim - 1; j >= 0; --j) {
      in += (rest % p.sizes[j]) * p.in_strides[j];
      rest /= p.sizes[j];
    }
    dst[i] = src[in];
  });
}

template <typename Unit>
void copy_rows_units(const Device& device, void* dst, std::int64_t dst_pitch, const void* src,
                     std::int64_t src_pitch, std::int64_t row_units, std::int64_t rows) {
  auto* out = static_cast<Unit*>(dst);
  const auto* in = static_cast<const Unit*>(src);
  const auto unit = static_cast<std::int64_t>(sizeof(Unit));
  const std::int64_t out_pitch = dst_pitch / unit;
  const std::int64_t in_pitch = src_pitch / unit;
  for_each_index(device, rows * row_units, [=] __device__(std::int64_t i) {
    const std::int64_t r = i / row_units;
    const std::int64_t c = i - r * row_units;
    out[r * out_pitch + c] = in[r * in_pitch + c];
  });
}

}  // namespace

void permute(const Tensor& x, const PermutePlan& plan, Tensor& y) {
  const Device device = y.device();
  detail::check_on(x, device, "permute");
  PermutePlan units = plan;
  const int last = plan.ndim - 1;
  if (plan.in_strides[last] == 1) {
    // y's rows are runs of x: move each run in the widest unit that every run start allows.
    const auto elem = static_cast<std::uint64_t>(plan.elem_size);
    const std::uint64_t run_bytes = static_cast<std::uint64_t>(plan.sizes[last]) * elem;
    std::uint64_t strides_bits = 0;
    for (int j = 0; j < last; ++j) {
      strides_bits |= static_cast<std::uint64_t>(plan.in_strides[j]) * elem;
    }
    const std::size_t unit =
        widest_unit({run_bytes, strides_bits, address(x.data_ptr()), address(y.data_ptr())});
    if (unit > plan.elem_size) {
      const auto scale = static_cast<std::int64_t>(unit / plan.elem_size);
      units.sizes[last] /= scale;
      for (int j = 0; j < last; ++j) units.in_strides[j] /= scale;
      units.elem_size = unit;
    }
  }
  switch (units.elem_size) {
    case 2:
      return permute_units<std::uint16_t>(device, x.data_ptr(), units, y.data_ptr());
    case 4:
      return permute_units<std::uint32_t>(device, x.data_ptr(), units, y.data_ptr());
    case 8:
      return permute_units<std::uint64_t>(device, x.data_ptr(), units, y.data_ptr());
    case 16:
      return permute_units<uint4>(device, x.data_ptr(), units, y.data_ptr());
    default:
      DDP_THROW(Error, "permute: elements of " << units.elem_size
                                               << " bytes are not supported (2, 4 or 8)");
  }
}

void copy_rows(const Device& device, void* dst, std::int64_t dst_pitch, const void* src,
               std::int64_t src_pitch, std::int64_t row_bytes, std::int64_t rows) {
  const std::size_t unit =
      widest_unit({static_cast<std::uint64_t>(dst_pitch), static_cast<std::uint64_t>(src_pitch),
                   static_cast<std::uint64_t>(row_bytes), address(dst), address(src)});
  const std::int64_t row_units = row_bytes / static_cast<std::int64_t>(unit);
  switch (unit) {
    case 1:
      return copy_rows_units<std::uint8_t>(device, dst, dst_pitch, src, src_pitch, row_units, rows);
    case 2:
      return copy_rows_units<std::uint16_t>(device, dst, dst_pitch, src, src_pitch, row_units,
                                            rows);
    case 4:
      return copy_rows_units<std::uint32_t>(device, dst, dst_pitch, src, src_pitch, row_units,
                                            rows);
    case 8:
      return copy_rows_units<std::uint64_t>(device, dst, dst_pitch, src, src_pitch, row_units,
                                            rows);
    default:
      return copy_rows_units<uint4>(device, dst, dst_pitch, src, src_pitch, row_units, rows);
  }
}

}  // namespace ddp::kernels::cuda
