#include "ddp/kernels/conv.hpp"

#include <algorithm>

#include "checks.hpp"
#include "conv_shape.hpp"
#include "cuda/cuda_kernels.hpp"

namespace ddp::kernels {
namespace {

// x's [N, C, H, W] and the window checked against col's [C*k*k, N*Ho*Wo].
detail::ConvShape check_conv(const Tensor& image, const ConvWindow& window, const Tensor& col,
                             const char* op) {
  DDP_CHECK(window.kernel_size > 0 && window.stride > 0 && window.padding >= 0,
            op << ": kernel_size " << window.kernel_size << ", stride " << window.stride
               << ", padding " << window.padding
               << " is no window; kernel_size and stride must be > 0, padding >= 0");
  DDP_CHECK(image.ndim() == 4 && image.dtype() == DType::float32,
            op << ": the image is " << ddp::to_string(image.dtype()) << " "
               << ddp::to_string(image.shape()) << "; give float32 [N, C, H, W]");
  detail::ConvShape shape{image.size(0), image.size(1), image.size(2), image.size(3), window, 0, 0};
  DDP_CHECK(shape.height + 2 * window.padding >= window.kernel_size &&
                shape.width + 2 * window.padding >= window.kernel_size,
            op << ": an image of " << shape.height << "x" << shape.width << " with padding "
               << window.padding << " is smaller than the kernel of " << window.kernel_size);
  shape.out_height = window.output_size(shape.height);
  shape.out_width = window.output_size(shape.width);
  const Shape col_shape{shape.channels * window.kernel_size * window.kernel_size,
                        shape.batch * shape.out_height * shape.out_width};
  DDP_CHECK(col.shape() == col_shape && col.dtype() == DType::float32,
            op << ": col is " << ddp::to_string(col.dtype()) << " " << ddp::to_string(col.shape())
               << ", but an image of " << ddp::to_string(image.shape()) << " with kernel "
               << window.kernel_size << ", stride " << window.stride << ", padding "
               << window.padding << " has float32 columns " << ddp::to_string(col_shape));
  detail::check_on(image, col.device(), op);
  detail::check_disjoint(image, col, op);
  return shape;
}

// The output positions [begin, end) along one dimension whose tap at offset (i - padding) reads
// inside the input: 0 <= o*stride + offset < input.
struct Span {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

Span inside(std::int64_t offset, std::int64_t input, std::int64_t stride, std::int64_t outputs) {
  const std::int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t end = input - offset <= 0 ? 0 : (input - 1 - offset) / stride + 1;
  Span span;
  span.end = std::min(end, outputs);
  span.begin = std::min(begin, span.end);
  return span;
}

// Calls tap_rows(i, j, rows, cols, plane, block) for each kernel tap (c, i, j) and image n: plane
// is the offset of x[n, c], block that of the Ho*Wo col entries of (tap, n), rows and cols the
// output positions where the tap reads inside the image. im2col and col2im walk the same way and
// differ only in the direction of the copy; a plane is read k*k times while it is in cache.
template <typename TapRows>
void for_each_tap(const detail::ConvShape& s, TapRows tap_rows) {
  const std::int64_t k = s.window.kernel_size;
  const std::int64_t positions = s.out_height * s.out_width;
  const std::int64_t col_width = s.batch * positions;
  for (std::int64_t c = 0; c < s.channels; ++c) {
    for (std::int64_t i = 0; i < k; ++i) {
      const Span rows = inside(i - s.window.padding, s.height, s.window.stride, s.out_height);
      for (std::int64_t j = 0; j < k; ++j) {
        const Span cols = inside(j - s.window.padding, s.width, s.window.stride, s.out_width);
        const std::int64_t tap = (c * k + i) * k + j;
        for (std::int64_t n = 0; n < s.batch; ++n) {
          tap_rows(i, j, rows, cols, (n * s.channels + c) * s.height * s.width,
                   tap * col_width + n * positions);
        }
      }
    }
  }
}

// One tap's block at stride 1 where output rows are as wide as the image's ("same" padding):
// entry q = oh*W + ow reads plane[q + shift], so the valid rows are one shifted copy, and then the
// columns that wrapped onto a neighbouring image row are zeroed.
void same_width_tap(const float* plane, const detail::ConvShape& s, std::int64_t shift, Span rows,
                    Span cols, float* out) {
  const std::int64_t w = s.width;
  const std::int64_t begin = std::max(rows.begin * w, -shift);
  const std::int64_t end = std::min(rows.end * w, s.height * w - shift);
  std::fill(out, out + begin, 0.0f);
  if (begin < end) std::copy(plane + begin + shift, plane + end + shift, out + begin);
  std::fill(out + std::max(begin, end), out + s.out_height * w, 0.0f);
  // Column by column: a few columns of many rows, where row by row would loop over 1 or 2.
  auto zero_column = [&](std::int64_t ow) {
    for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) out[oh * w + ow] = 0.0f;
  };
  for (std::int64_t ow = 0; ow < cols.begin; ++ow) zero_column(ow);
  for (std::int64_t ow = cols.end; ow < w; ++ow) zero_column(ow);
}

void im2col_cpu(const float* x, const detail::ConvShape& s, float* col) {
  const std::int64_t stride = s.window.stride;
  const std::int64_t pad = s.window.padding;
  const std::int64_t wo = s.out_width;
  const bool same_width = stride == 1 && wo == s.width;
  for_each_tap(s, [&](std::int64_t i, std::int64_t j, Span rows, Span cols, std::int64_t plane,
                      std::int64_t block) {
    float* out = col + block;
    if (same_width)
      return same_width_tap(x + plane, s, (i - pad) * s.width + j - pad, rows, cols, out);
    std::fill(out, out + rows.begin * wo, 0.0f);
    for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
      const float* in = x + plane + (oh * stride + i - pad) * s.width;
      float* o = out + oh * wo;
      std::fill(o, o + cols.begin, 0.0f);
      const std::int64_t first = cols.begin * stride + j - pad;
      if (stride == 1) {
        std::copy(in + first, in + first + (cols.end - cols.begin), o + cols.begin);
      } else {
        for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) {
          o[ow] = in[first + (ow - cols.begin) * stride];
        }
      }
      std::fill(o + cols.end, o + wo, 0.0f);
    }
    std::fill(out + rows.end * wo, out + s.out_height * wo, 0.0f);
  });
}

void col2im_cpu(const float* col, const detail::ConvShape& s, float* x) {
  const std::int64_t stride = s.window.stride;
  const std::int64_t pad = s.window.padding;
  const std::int64_t wo = s.out_width;
  std::fill(x, x + s.batch * s.channels * s.height * s.width, 0.0f);
  for_each_tap(s, [&](std::int64_t i, std::int64_t j, Span rows, Span cols, std::int64_t plane,
                      std::int64_t block) {
    for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
      float* out = x + plane + (oh * stride + i - pad) * s.width + cols.begin * stride + j - pad;
      const float* in = col + block + oh * wo + cols.begin;
      const std::int64_t count = cols.end - cols.begin;
      if (stride == 1) {
        for (std::int64_t q = 0; q < count; ++q) out[q] += in[q];
      } else {
        for (std::int64_t q = 0; q < count; ++q) out[q * stride] += in[q];
      }
    }
  });
}

}  // namespace

void im2col(const Tensor& x, const ConvWindow& window, Tensor& col) {
  const detail::ConvShape shape = check_conv(x, window, col, "im2col");
  if (col.numel() == 0) return;
  if (col.device().is_cuda()) return cuda::im2col(x, shape, col);
  im2col_cpu(detail::cpu_floats(x, "im2col"), shape, detail::cpu_floats(col, "im2col"));
}

void col2im(const Tensor& col, const ConvWindow& window, Tensor& x) {
  const detail::ConvShape shape = check_conv(x, window, col, "col2im");
  if (x.numel() == 0) return;
  if (x.device().is_cuda()) return cuda::col2im(col, shape, x);
  col2im_cpu(detail::cpu_floats(col, "col2im"), shape, detail::cpu_floats(x, "col2im"));
}

}  // namespace ddp::kernels
