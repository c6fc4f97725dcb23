#include "ddp/kernels/shape.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "shape_plan.hpp"

namespace ddp::kernels {
namespace {

using detail::kMaxPermuteDims;
using detail::PermutePlan;

std::string dims_text(const std::vector<int>& dims) {
  return ddp::to_string(Shape(dims.begin(), dims.end()));
}

void check_defined(const Tensor& t, const char* op, const char* name) {
  DDP_CHECK(t.defined(), op << ": " << name << " is an undefined tensor; allocate it first");
}

void check_permute(const Tensor& x, const std::vector<int>& dims, const Tensor& y) {
  check_defined(x, "permute", "x");
  check_defined(y, "permute", "y");
  const auto n = static_cast<int>(x.ndim());
  DDP_CHECK(n <= kMaxPermuteDims, "permute: x of shape " << ddp::to_string(x.shape()) << " has "
                                                         << n << " dimensions; at most "
                                                         << kMaxPermuteDims << " are supported");
  DDP_CHECK(dims.size() == x.ndim(), "permute: dims " << dims_text(dims) << " has " << dims.size()
                                                      << " entries for x of shape "
                                                      << ddp::to_string(x.shape())
                                                      << "; give one per dimension of x");
  std::vector<bool> seen(dims.size(), false);
  for (int d : dims) {
    DDP_CHECK(0 <= d && d < n && !seen[static_cast<std::size_t>(d)],
              "permute: dims " << dims_text(dims) << " is not a permutation of 0.." << n - 1
                               << " (each dimension of x once; negative dims are not supported)");
    seen[static_cast<std::size_t>(d)] = true;
  }
  Shape permuted(dims.size());
  for (std::size_t j = 0; j < dims.size(); ++j)
    permuted[j] = x.size(static_cast<std::size_t>(dims[j]));
  DDP_CHECK(y.shape() == permuted, "permute: y has shape "
                                       << ddp::to_string(y.shape()) << ", but x of shape "
                                       << ddp::to_string(x.shape()) << " permuted by "
                                       << dims_text(dims) << " is " << ddp::to_string(permuted)
                                       << "; allocate y with that shape");
  DDP_CHECK(y.dtype() == x.dtype(), "permute: x holds " << ddp::to_string(x.dtype()) << ", y "
                                                        << ddp::to_string(y.dtype())
                                                        << "; permute moves elements, it does "
                                                           "not convert them");
  detail::check_on(x, y.device(), "permute");
  detail::check_disjoint(x, y, "permute");
}

// x's shape and dims reduced as PermutePlan says (x has at least one element).
PermutePlan plan_permute(const Shape& shape, const std::vector<int>& dims, std::size_t elem_size) {
  std::int64_t x_strides[kMaxPermuteDims] = {};
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    x_strides[i] = stride;
    stride *= shape[i];
  }
  PermutePlan plan;
  plan.elem_size = elem_size;
  for (int d : dims) {
    const std::int64_t size = shape[static_cast<std::size_t>(d)];
    if (size == 1) continue;  // moves nothing, wherever it goes
    const std::int64_t in_stride = x_strides[d];
    // y's previous dimension steps over exactly this one in x too: one dimension of both sizes.
    if (plan.ndim > 0 && plan.in_strides[plan.ndim - 1] == in_stride * size) {
      plan.sizes[plan.ndim - 1] *= size;
      plan.in_strides[plan.ndim - 1] = in_stride;
    } else {
      plan.sizes[plan.ndim] = size;
      plan.in_strides[plan.ndim] = in_stride;
      ++plan.ndim;
    }
  }
  if (plan.ndim == 0) {  // one element
    plan.ndim = 1;
    plan.sizes[0] = 1;
    plan.in_strides[0] = 1;
  }
  return plan;
}

// Calls f(in_offset, out_offset), in elements, at every index of y's dimensions [0, ndim - 1)
// other than skip (-1 for none), in y's order.
template <typename F>
void for_each_outer(const PermutePlan& plan, const std::int64_t* out_strides, int skip, F f) {
  int loop_dims[kMaxPermuteDims] = {};
  int count = 0;
  std::int64_t total = 1;
  for (int j = 0; j < plan.ndim - 1; ++j) {
    if (j == skip) continue;
    loop_dims[count++] = j;
    total *= plan.sizes[j];
  }
  std::int64_t index[kMaxPermuteDims] = {};
  std::int64_t in = 0;
  std::int64_t out = 0;
  for (std::int64_t step = 0; step < total; ++step) {
    f(in, out);
    for (int k = count - 1; k >= 0; --k) {
      const int j = loop_dims[k];
      in += plan.in_strides[j];
      out += out_strides[j];
      if (++index[k] < plan.sizes[j]) break;
      index[k] = 0;
      in -= plan.sizes[j] * plan.in_strides[j];
      out -= plan.sizes[j] * out_strides[j];
    }
  }
}

// y's last dimension moves in x: transposes tiles of (y's dimension p that is x's last, y's last),
// so that both the strided reads and the contiguous writes of a tile stay in cache.
template <typename T>
void permute_tiled(const T* src, const PermutePlan& plan, const std::int64_t* out_strides, T* dst) {
  constexpr std::int64_t kTile = 32;
  const int last = plan.ndim - 1;
  int p = 0;
  while (plan.in_strides[p] != 1) ++p;  // exists: x's innermost dimension of size > 1
  const std::int64_t rows = plan.sizes[p];
  const std::int64_t cols = plan.sizes[last];
  const std::int64_t out_row = out_strides[p];
  const std::int64_t in_col = plan.in_strides[last];
  for_each_outer(plan, out_strides, p, [&](std::int64_t in, std::int64_t out) {
    for (std::int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const std::int64_t r1 = std::min(r0 + kTile, rows);
      for (std::int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const std::int64_t c1 = std::min(c0 + kTile, cols);
        for (std::int64_t r = r0; r < r1; ++r) {
          T* o = dst + out + r * out_row;
          const T* i = src + in + r;
          for (std::int64_t c = c0; c < c1; ++c) o[c] = i[c * in_col];
        }
      }
    }
  });
}

void permute_cpu(const void* x, const PermutePlan& plan, void* y) {
  const int last = plan.ndim - 1;
  std::int64_t out_strides[kMaxPermuteDims] = {};
  out_strides[last] = 1;
  for (int j = last; j > 0; --j) out_strides[j - 1] = out_strides[j] * plan.sizes[j];
  const std::size_t elem = plan.elem_size;
  if (plan.in_strides[last] == 1) {
    // y's rows are runs of x: [B, T, H, D] <-> [B, H, T, D] copies runs of D elements.
    const auto* src = static_cast<const char*>(x);
    auto* dst = static_cast<char*>(y);
    const std::size_t run = static_cast<std::size_t>(plan.sizes[last]) * elem;
    for_each_outer(plan, out_strides, -1, [&](std::int64_t in, std::int64_t out) {
      std::memcpy(dst + static_cast<std::size_t>(out) * elem,
                  src + static_cast<std::size_t>(in) * elem, run);
    });
    return;
  }
  switch (elem) {
    case 2:
      return permute_tiled(static_cast<const std::uint16_t*>(x), plan, out_strides,
                           static_cast<std::uint16_t*>(y));
    case 4:
      return permute_tiled(static_cast<const std::uint32_t*>(x), plan, out_strides,
                           static_cast<std::uint32_t*>(y));
    case 8:
      return permute_tiled(static_cast<const std::uint64_t*>(x), plan, out_strides,
                           static_cast<std::uint64_t*>(y));
    default:
      DDP_THROW(Error, "permute: elements of " << elem << " bytes are not supported (2, 4 or 8)");
  }
}

// The parts of concat and split against the whole: the same dtype, device and shape but along
// dim, disjoint from it, their sizes along dim adding up to its.
void check_parts(const Tensor& whole, const std::vector<Tensor>& parts, int dim, const char* op,
                 const char* whole_name, const char* part_name) {
  check_defined(whole, op, whole_name);
  DDP_CHECK(!parts.empty(), op << ": no " << part_name << "s; give at least one");
  const auto n = static_cast<int>(whole.ndim());
  DDP_CHECK(0 <= dim && dim < n, op << ": dim " << dim << " is out of range for " << whole_name
                                    << " of shape " << ddp::to_string(whole.shape()) << " (" << n
                                    << " dimensions; negative dims are not supported)");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Tensor& part = parts[i];
    check_defined(part, op, part_name);
    bool matches = part.ndim() == whole.ndim();
    for (int d = 0; matches && d < n; ++d) {
      matches = d == dim ||
                part.size(static_cast<std::size_t>(d)) == whole.size(static_cast<std::size_t>(d));
    }
    DDP_CHECK(matches, op << ": " << part_name << " " << i << " has shape "
                          << ddp::to_string(part.shape()) << " and " << whole_name << " "
                          << ddp::to_string(whole.shape())
                          << "; they must be equal in every dimension but dim " << dim);
    DDP_CHECK(part.dtype() == whole.dtype(),
              op << ": " << part_name << " " << i << " holds " << ddp::to_string(part.dtype())
                 << " and " << whole_name << " " << ddp::to_string(whole.dtype())
                 << "; they must hold one dtype");
    detail::check_on(part, whole.device(), op);
    total += part.size(static_cast<std::size_t>(dim));
  }
  DDP_CHECK(total == whole.size(static_cast<std::size_t>(dim)),
            op << ": the " << part_name << "s' sizes along dim " << dim << " sum to " << total
               << ", but " << whole_name << " of shape " << ddp::to_string(whole.shape()) << " has "
               << whole.size(static_cast<std::size_t>(dim)));
  // After the shapes: an overlap check on tensors of the wrong size would name the wrong fault.
  for (const Tensor& part : parts) detail::check_disjoint(part, whole, op);
}

// rows rows of row_bytes bytes from src to dst, consecutive rows src_pitch and dst_pitch bytes
// apart: one part of a concat or a split.
void copy_rows(const Device& device, void* dst, std::int64_t dst_pitch, const void* src,
               std::int64_t src_pitch, std::int64_t row_bytes, std::int64_t rows) {
  if (row_bytes == 0 || rows == 0) return;
  if (device.is_cuda()) {
    return cuda::copy_rows(device, dst, dst_pitch, src, src_pitch, row_bytes, rows);
  }
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  if (row_bytes == dst_pitch && row_bytes == src_pitch) {
    std::memcpy(out, in, static_cast<std::size_t>(rows * row_bytes));
    return;
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    std::memcpy(out + r * dst_pitch, in + r * src_pitch, static_cast<std::size_t>(row_bytes));
  }
}

// whole as [outer, whole.size(dim) * inner] rows of bytes: a part's rows are a column range.
struct RowsAlong {
  std::int64_t outer = 1;        // elements before dim
  std::int64_t inner_bytes = 0;  // bytes of one index along dim
};

RowsAlong rows_along(const Tensor& whole, int dim) {
  RowsAlong rows;
  const auto d = static_cast<std::size_t>(dim);
  std::int64_t inner = 1;
  for (std::size_t i = 0; i < whole.ndim(); ++i) {
    if (i < d) rows.outer *= whole.size(i);
    if (i > d) inner *= whole.size(i);
  }
  rows.inner_bytes = inner * static_cast<std::int64_t>(dtype_size(whole.dtype()));
  return rows;
}

}  // namespace

void permute(const Tensor& x, const std::vector<int>& dims, Tensor& y) {
  check_permute(x, dims, y);
  if (y.numel() == 0) return;
  const PermutePlan plan = plan_permute(x.shape(), dims, dtype_size(x.dtype()));
  if (y.device().is_cuda()) return cuda::permute(x, plan, y);
  permute_cpu(x.data_ptr(), plan, y.data_ptr());
}

void concat(const std::vector<Tensor>& inputs, int dim, Tensor& out) {
  check_parts(out, inputs, dim, "concat", "out", "input");
  const RowsAlong layout = rows_along(out, dim);
  const std::int64_t out_pitch = out.size(static_cast<std::size_t>(dim)) * layout.inner_bytes;
  std::int64_t column = 0;
  for (const Tensor& input : inputs) {
    const std::int64_t row_bytes = input.size(static_cast<std::size_t>(dim)) * layout.inner_bytes;
    if (row_bytes > 0 && layout.outer > 0) {
      copy_rows(out.device(), static_cast<char*>(out.data_ptr()) + column, out_pitch,
                input.data_ptr(), row_bytes, row_bytes, layout.outer);
    }
    column += row_bytes;
  }
}

void split(const Tensor& x, int dim, std::vector<Tensor>& outputs) {
  check_parts(x, outputs, dim, "split", "x", "output");
  const RowsAlong layout = rows_along(x, dim);
  const std::int64_t x_pitch = x.size(static_cast<std::size_t>(dim)) * layout.inner_bytes;
  std::int64_t column = 0;
  for (Tensor& output : outputs) {
    const std::int64_t row_bytes = output.size(static_cast<std::size_t>(dim)) * layout.inner_bytes;
    if (row_bytes > 0 && layout.outer > 0) {
      copy_rows(x.device(), output.data_ptr(), row_bytes,
                static_cast<const char*>(x.data_ptr()) + column, x_pitch, row_bytes, layout.outer);
    }
    column += row_bytes;
  }
}

}  // namespace ddp::kernels
