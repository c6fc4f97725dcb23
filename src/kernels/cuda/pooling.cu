// 2-D max and average pooling on CUDA tensors: a thread per output element forward, and a thread
// per input element backward that sums the windows holding it in the CPU's order (no atomics):
// the results are the CPU's bits.
#include "../pool_plan.hpp"
#include "cuda_kernels.hpp"
#include "launch.cuh"

namespace ddp::kernels::cuda {
namespace {

using detail::Pool2dPlan;

// Runs f(i, plane, oh, ow) for every element i of the pooled y: window (oh, ow) of plane.
template <typename F>
void for_each_window(const Pool2dPlan& p, const Tensor& y, F f) {
  for_each_index(y.device(), y.numel(), [=] __device__(std::int64_t i) {
    const std::int64_t plane = i / p.out_plane();
    const std::int64_t window = i - plane * p.out_plane();
    const std::int64_t oh = window / p.cols.out;
    f(i, plane, oh, window - oh * p.cols.out);
  });
}

// dx[i] = the float sum, windows in row-major order, of term(plane, oh, ow, position) over the
// windows holding input element i (position: its h * W + w in its plane).
template <typename Term>
void gather_windows(const Pool2dPlan& p, Tensor& dx, Term term) {
  float* out = detail::data_on<float>(dx, dx.device(), "pooling backward");
  for_each_index(dx.device(), dx.numel(), [=] __device__(std::int64_t i) {
    const std::int64_t plane = i / p.in_plane();
    const std::int64_t position = i - plane * p.in_plane();
    const std::int64_t h = position / p.cols.in;
    const std::int64_t w = position - h * p.cols.in;
    const std::int64_t ow0 = p.cols.first_holding(w);
    const std::int64_t ow1 = p.cols.last_holding(w);
    float sum = 0.0f;
    for (std::int64_t oh = p.rows.first_holding(h); oh <= p.rows.last_holding(h); ++oh) {
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) sum += term(plane, oh, ow, position);
    }
    out[i] = sum;
  });
}

}  // namespace

void max_pool2d(const Tensor& x, const Pool2dPlan& plan, Tensor& y, Tensor& argmax) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, "max_pool2d");
  float* out = detail::data_on<float>(y, device, "max_pool2d");
  std::int32_t* index = detail::data_on<std::int32_t>(argmax, device, "max_pool2d");
  const Pool2dPlan p = plan;
  for_each_window(
      plan, y,
      [=] __device__(std::int64_t i, std::int64_t plane, std::int64_t oh, std::int64_t ow) {
        out[i] = detail::window_max(in + plane * p.in_plane(), p, oh, ow, index + i);
      });
}

void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, const Pool2dPlan& plan,
                         Tensor& dx) {
  const float* grad = detail::data_on<float>(dy, dx.device(), "max_pool2d_backward");
  const std::int32_t* index =
      detail::data_on<std::int32_t>(argmax, dx.device(), "max_pool2d_backward");
  const std::int64_t windows = plan.out_plane();
  const std::int64_t out_width = plan.cols.out;
  gather_windows(
      plan, dx,
      [=] __device__(std::int64_t plane, std::int64_t oh, std::int64_t ow, std::int64_t position) {
        const std::int64_t o = plane * windows + oh * out_width + ow;
        return index[o] == position ? grad[o] : 0.0f;
      });
}

void avg_pool2d(const Tensor& x, const Pool2dPlan& plan, Tensor& y) {
  const Device device = y.device();
  const float* in = detail::data_on<float>(x, device, "avg_pool2d");
  float* out = detail::data_on<float>(y, device, "avg_pool2d");
  const Pool2dPlan p = plan;
  for_each_window(
      plan, y,
      [=] __device__(std::int64_t i, std::int64_t plane, std::int64_t oh, std::int64_t ow) {
        out[i] = detail::window_mean(in + plane * p.in_plane(), p, oh, ow);
      });
}

void avg_pool2d_backward(const Tensor& dy, const Pool2dPlan& plan, Tensor& dx) {
  const float* grad = detail::data_on<float>(dy, dx.device(), "avg_pool2d_backward");
  const Pool2dPlan p = plan;
  gather_windows(
      plan, dx, [=] __device__(std::int64_t plane, std::int64_t oh, std::int64_t ow, std::int64_t) {
        return grad[plane * p.out_plane() + oh * p.cols.out + ow] / p.window_size(oh, ow);
      });
}

}  // namespace ddp::kernels::cuda
