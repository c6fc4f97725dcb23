// im2col and col2im on CUDA tensors: one thread per element written, so col2im gathers the col
// entries of each image element in a fixed order instead of scattering them with atomics, and
// repeats bit for bit.
#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {

void im2col(const Tensor& x, const detail::ConvShape& shape, Tensor& col) {
  const Device device = col.device();
  const float* in = detail::data_on<float>(x, device, "im2col");
  float* out = detail::data_on<float>(col, device, "im2col");
  const detail::ConvShape s = shape;
  const std::int64_t col_width = s.batch * s.out_height * s.out_width;
  for_each_index(device, col.numel(), [=] __device__(std::int64_t e) {
    const std::int64_t k = s.window.kernel_size;
    const std::int64_t tap = e / col_width;
    std::int64_t position = e % col_width;
    const std::int64_t ow = position % s.out_width;
    position /= s.out_width;
    const std::int64_t oh = position % s.out_height;
    const std::int64_t n = position / s.out_height;
    const std::int64_t c = tap / (k * k);
    const std::int64_t ih = oh * s.window.stride + (tap / k) % k - s.window.padding;
    const std::int64_t iw = ow * s.window.stride + tap % k - s.window.padding;
    const bool inside = 0 <= ih && ih < s.height && 0 <= iw && iw < s.width;
    out[e] = inside ? in[((n * s.channels + c) * s.height + ih) * s.width + iw] : 0.0f;
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
