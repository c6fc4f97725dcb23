// Where the windows of a 2-D pooling lie, and the window loops the CPU and CUDA kernels share
// (private to src/kernels): the same float operations in the same order on both devices, so that
// both give the same bits.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define DDP_POOL_HOST_DEVICE __host__ __device__
#else
#define DDP_POOL_HOST_DEVICE
#endif

namespace ddp::kernels::detail {

// The out windows along one spatial axis of in positions: kernel positions each, stride apart, or
// with kernel 0 PyTorch's adaptive ones, window i = [floor(i * in / out), ceil((i + 1) * in /
// out)).
struct PoolAxis {
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::int64_t kernel = 0;
  std::int64_t stride = 0;

  DDP_POOL_HOST_DEVICE std::int64_t begin(std::int64_t i) const {
    return kernel > 0 ? i * stride : i * in / out;
  }
  DDP_POOL_HOST_DEVICE std::int64_t end(std::int64_t i) const {
    return kernel > 0 ? i * stride + kernel : ((i + 1) * in + out - 1) / out;
  }
  // The windows holding position x are first_holding(x) .. last_holding(x), none when last <
  // first (a position past the last window in floor mode).
  DDP_POOL_HOST_DEVICE std::int64_t first_holding(std::int64_t x) const {
    if (kernel == 0) return x * out / in;
    return x < kernel ? 0 : (x - kernel) / stride + 1;
  }
  DDP_POOL_HOST_DEVICE std::int64_t last_holding(std::int64_t x) const {
    const std::int64_t last = kernel > 0 ? x / stride : ((x + 1) * out - 1) / in;
    return last < out - 1 ? last : out - 1;
  }
};

// A pooling of planes planes (N * C) of rows.in x cols.in elements into rows.out x cols.out.
struct Pool2dPlan {
  std::int64_t planes = 0;
  PoolAxis rows;
  PoolAxis cols;

  DDP_POOL_HOST_DEVICE std::int64_t in_plane() const { return rows.in * cols.in; }
  DDP_POOL_HOST_DEVICE std::int64_t out_plane() const { return rows.out * cols.out; }
  DDP_POOL_HOST_DEVICE float window_size(std::int64_t oh, std::int64_t ow) const {
    return static_cast<float>((rows.end(oh) - rows.begin(oh)) * (cols.end(ow) - cols.begin(ow)));
  }
};

// Whether v replaces best as a window's maximum: PyTorch's rule, the first of equal values in
// row-major order stays, and a NaN beats everything (the last NaN wins).
DDP_POOL_HOST_DEVICE inline bool beats(float v, float best) {
  return v > best || v != v;
}

// The maximum of window (oh, ow) of plane, and in *index its position h * W + w.
DDP_POOL_HOST_DEVICE inline float window_max(const float* plane, const Pool2dPlan& p,
                                             std::int64_t oh, std::int64_t ow,
                                             std::int32_t* index) {
  const std::int64_t width = p.cols.in;
  const std::int64_t h0 = p.rows.begin(oh);
  const std::int64_t h1 = p.rows.end(oh);
  const std::int64_t w0 = p.cols.begin(ow);
  const std::int64_t w1 = p.cols.end(ow);
  float best = -INFINITY;
  std::int64_t at = h0 * width + w0;
  for (std::int64_t h = h0; h < h1; ++h) {
    const float* row = plane + h * width;
    for (std::int64_t w = w0; w < w1; ++w) {
      if (beats(row[w], best)) {
        best = row[w];
        at = h * width + w;
      }
    }
  }
  *index = static_cast<std::int32_t>(at);
  return best;
}

// The mean of window (oh, ow) of plane: a float sum in row-major order over the window's size.
DDP_POOL_HOST_DEVICE inline float window_mean(const float* plane, const Pool2dPlan& p,
                                              std::int64_t oh, std::int64_t ow) {
  const std::int64_t width = p.cols.in;
  const std::int64_t w0 = p.cols.begin(ow);
  const std::int64_t w1 = p.cols.end(ow);
  float sum = 0.0f;
  for (std::int64_t h = p.rows.begin(oh); h < p.rows.end(oh); ++h) {
    const float* row = plane + h * width;
    for (std::int64_t w = w0; w < w1; ++w) sum += row[w];
  }
  return sum / p.window_size(oh, ow);
}

}  // namespace ddp::kernels::detail
