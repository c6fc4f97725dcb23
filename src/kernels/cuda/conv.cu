// im2col and col2im on CUDA tensors: one thread per element written, so col2im gathers the col
// entries of each image element in a fixed order instead of scattering them with atomics, and
// repeats bit for bit.
#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

// The image element x[n, c, ih, iw] that col entry e reads, (ih, iw) possibly in the padding.
struct ImagePoint {
  std::int64_t plane;  // n * channels + c
  std::int64_t ih;
  std::int64_t iw;
};

__device__ ImagePoint read_by(const detail::ConvShape& s, std::int64_t e) {
  const std::int64_t k = s.window.kernel_size;
  const std::int64_t positions = s.out_height * s.out_width;
  const std::int64_t tap = e / (s.batch * positions);  // (c*k + i)*k + j
  const std::int64_t n = e % (s.batch * positions) / positions;
  const std::int64_t oh = e % positions / s.out_width;
  const std::int64_t ow = e % s.out_width;
  return {n * s.channels + tap / (k * k), oh * s.window.stride + tap / k % k - s.window.padding,
          ow * s.window.stride + tap % k - s.window.padding};
}

}  // namespace

void im2col(const Tensor& x, const detail::ConvShape& shape, Tensor& col) {
  const float* in = detail::data_on<float>(x, col.device(), "im2col");
  float* out = detail::data_on<float>(col, col.device(), "im2col");
  const detail::ConvShape s = shape;  // a value for the lambda to capture, not a reference
  for_each_index(col.device(), col.numel(), [=] __device__(std::int64_t e) {
    const ImagePoint p = read_by(s, e);
    const bool inside = 0 <= p.ih && p.ih < s.height && 0 <= p.iw && p.iw < s.width;
    out[e] = inside ? in[(p.plane * s.height + p.ih) * s.width + p.iw] : 0.0f;
  });
}

void col2im(const Tensor& col, const detail::ConvShape& shape, Tensor& x) {
  const Device device = x.device();
  const float* in = detail::data_on<float>(col, device, "col2im");
  float* out = detail::data_on<float>(x, device, "col2im");
  const detail::ConvShape s = shape;
  const std::int64_t col_width = s.batch * s.out_height * s.out_width;
  for_each_index(device, x.numel(), [=] __device__(std::int64_t e) {
    const std::int64_t k = s.window.kernel_size;
    const std::int64_t stride = s.window.stride;
    const std::int64_t iw = e % s.width;
    const std::int64_t ih = (e / s.width) % s.height;
    const std::int64_t c = (e / (s.width * s.height)) % s.channels;
    const std::int64_t n = e / (s.width * s.height * s.channels);
    float total = 0.0f;
    // The taps (i, j) that read (ih, iw) from output (oh, ow): oh*stride + i - padding == ih.
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t row = ih + s.window.padding - i;
      if (row < 0 || row % stride != 0 || row / stride >= s.out_height) continue;
      for (std::int64_t j = 0; j < k; ++j) {
        const std::int64_t column = iw + s.window.padding - j;
        if (column < 0 || column % stride != 0 || column / stride >= s.out_width) continue;
        const std::int64_t tap = (c * k + i) * k + j;
        total +=
            in[tap * col_width + (n * s.out_height + row / stride) * s.out_width + column / stride];
      }
    }
    out[e] = total;
  });
}

}  // namespace ddp::kernels::cuda
