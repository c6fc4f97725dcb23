#include "ddp/kernels/pooling.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "pool_plan.hpp"

namespace ddp::kernels {
namespace {

using detail::Pool2dPlan;
using detail::PoolAxis;

// The plan of pooling input [N, C, H, W] into output [N, C, Ho, Wo] with the windows of rows and
// cols (their in and out filled here), after checking that the two tensors fit: float32 on one
// device, the same N and C.
Pool2dPlan plan_of(const Tensor& input, const Tensor& output, PoolAxis rows, PoolAxis cols,
                   const char* op) {
  DDP_CHECK(input.ndim() == 4 && output.ndim() == 4 && input.size(0) == output.size(0) &&
                input.size(1) == output.size(1),
            op << ": input " << ddp::to_string(input.shape()) << " and output "
               << ddp::to_string(output.shape())
               << " do not match; need [N, C, H, W] and [N, C, Ho, Wo]");
  DDP_CHECK(input.dtype() == DType::float32 && output.dtype() == DType::float32,
            op << ": needs float32 tensors, got " << ddp::to_string(input.dtype()) << " and "
               << ddp::to_string(output.dtype()));
  detail::check_on(input, output.device(), op);
  rows.in = input.size(2);
  rows.out = output.size(2);
  cols.in = input.size(3);
  cols.out = output.size(3);
  return {input.size(0) * input.size(1), rows, cols};
}

// kernel x kernel windows stride apart; output must have the size they give.
Pool2dPlan fixed_plan(const Tensor& input, const Tensor& output, std::int64_t kernel,
                      std::int64_t stride, const char* op) {
  const Shape expected = pool2d_output_shape(input.shape(), kernel, stride, op);
  DDP_CHECK(output.shape() == expected, op << ": output " << ddp::to_string(output.shape())
                                           << " for input " << ddp::to_string(input.shape())
                                           << " with kernel " << kernel << " and stride " << stride
                                           << "; need " << ddp::to_string(expected));
  return plan_of(input, output, {0, 0, kernel, stride}, {0, 0, kernel, stride}, op);
}

Pool2dPlan adaptive_plan(const Tensor& input, const Tensor& output, const char* op) {
  const Pool2dPlan plan = plan_of(input, output, {}, {}, op);
  DDP_CHECK(plan.rows.out >= 1 && plan.cols.out >= 1,
            op << ": output " << ddp::to_string(output.shape()) << " has no window per plane");
  DDP_CHECK(plan.rows.in >= 1 && plan.cols.in >= 1,
            op << ": input " << ddp::to_string(input.shape()) << " has nothing to average");
  return plan;
}

// The CPU loops of fixed windows go output row by output row: each window element (kh, kw) meets
// a whole row of outputs in a branch-free loop over ow that the compiler vectorises. Each output
// still sees its window's elements in row-major order, as window_max and window_mean (CUDA's
// loops) take them, and each input element its windows' gradients in row-major order, as the CUDA
// backward sums them: both devices give the same bits.

// Calls loop(stride), stride a compile-time constant where it is 1 or 2 (the strided loads and
// stores of the loops over ow vectorise only then), else the runtime value.
template <typename Loop>
void with_stride(std::int64_t stride, Loop loop) {
  if (stride == 1) return loop(std::integral_constant<std::int32_t, 1>{});
  if (stride == 2) return loop(std::integral_constant<std::int32_t, 2>{});
  loop(static_cast<std::int32_t>(stride));
}

// y and index [Ho, Wo] = the maxima of plane's windows and their positions.
template <typename Stride>
void max_pool_plane(const float* plane, const Pool2dPlan& p, Stride stride, float* y,
                    std::int32_t* index) {
  const std::int64_t width = p.cols.in;
  const std::int64_t kernel = p.cols.kernel;
  const auto outputs = static_cast<std::int32_t>(p.cols.out);
  for (std::int64_t oh = 0; oh < p.rows.out; ++oh, y += outputs, index += outputs) {
    const auto corner = static_cast<std::int32_t>(p.rows.begin(oh) * width);
    for (std::int32_t ow = 0; ow < outputs; ++ow) {
      y[ow] = plane[corner + ow * stride];
      index[ow] = corner + ow * stride;
    }
    for (std::int64_t kh = 0; kh < kernel; ++kh) {
      for (std::int64_t kw = kh == 0 ? 1 : 0; kw < kernel; ++kw) {
        const auto first = static_cast<std::int32_t>(corner + kh * width + kw);
        const float* x = plane + first;
        for (std::int32_t ow = 0; ow < outputs; ++ow) {
          const float v = x[ow * stride];
          const bool take = detail::beats(v, y[ow]);
          y[ow] = take ? v : y[ow];
          index[ow] = take ? first + ow * stride : index[ow];
        }
      }
    }
  }
}

// y [Ho, Wo] = the means of plane's windows.
template <typename Stride>
void avg_pool_plane(const float* plane, const Pool2dPlan& p, Stride stride, float* y) {
  const std::int64_t width = p.cols.in;
  const std::int64_t kernel = p.cols.kernel;
  const std::int64_t outputs = p.cols.out;
  const float size = p.window_size(0, 0);
  for (std::int64_t oh = 0; oh < p.rows.out; ++oh, y += outputs) {
    std::fill(y, y + outputs, 0.0f);
    for (std::int64_t h = p.rows.begin(oh); h < p.rows.end(oh); ++h) {
      for (std::int64_t kw = 0; kw < kernel; ++kw) {
        const float* x = plane + h * width + kw;
        for (std::int64_t ow = 0; ow < outputs; ++ow) y[ow] += x[ow * stride];
      }
    }
    for (std::int64_t ow = 0; ow < outputs; ++ow) y[ow] = y[ow] / size;
  }
}

// dx [H, W] = 0, then each window's dy / its size added to its elements.
template <typename Stride>
void avg_pool_plane_backward(const float* dy, const Pool2dPlan& p, Stride stride, float* dx) {
  const float size = p.window_size(0, 0);
  std::fill(dx, dx + p.in_plane(), 0.0f);
  for (std::int64_t oh = 0; oh < p.rows.out; ++oh, dy += p.cols.out) {
    for (std::int64_t h = p.rows.begin(oh); h < p.rows.end(oh); ++h) {
      // kw downwards: an element's windows in this row then come in ascending ow.
      for (std::int64_t kw = p.cols.kernel - 1; kw >= 0; --kw) {
        float* row = dx + h * p.cols.in + kw;
        for (std::int64_t ow = 0; ow < p.cols.out; ++ow) row[ow * stride] += dy[ow] / size;
      }
    }
  }
}

// The adaptive windows' CPU loops: a window at a time (their sizes vary).
void adaptive_avg_pool_plane(const float* plane, const Pool2dPlan& p, float* y) {
  for (std::int64_t oh = 0; oh < p.rows.out; ++oh) {
    for (std::int64_t ow = 0; ow < p.cols.out; ++ow) *y++ = detail::window_mean(plane, p, oh, ow);
  }
}

void adaptive_avg_pool_plane_backward(const float* dy, const Pool2dPlan& p, float* dx) {
  const std::int64_t width = p.cols.in;
  std::fill(dx, dx + p.in_plane(), 0.0f);
  for (std::int64_t oh = 0; oh < p.rows.out; ++oh) {
    for (std::int64_t ow = 0; ow < p.cols.out; ++ow) {
      const float share = *dy++ / p.window_size(oh, ow);
      const std::int64_t w0 = p.cols.begin(ow);
      const std::int64_t w1 = p.cols.end(ow);
      for (std::int64_t h = p.rows.begin(oh); h < p.rows.end(oh); ++h) {
        float* row = dx + h * width;
        for (std::int64_t w = w0; w < w1; ++w) row[w] += share;
      }
    }
  }
}

void average_forward(const Tensor& x, const Pool2dPlan& plan, Tensor& y, const char* op) {
  if (y.device().is_cuda()) return cuda::avg_pool2d(x, plan, y);
  const float* in = detail::cpu_floats(x, op);
  float* out = detail::cpu_floats(y, op);
  if (plan.cols.kernel == 0) {
    for (std::int64_t p = 0; p < plan.planes; ++p) {
      adaptive_avg_pool_plane(in + p * plan.in_plane(), plan, out + p * plan.out_plane());
    }
    return;
  }
  with_stride(plan.cols.stride, [&](auto step) {
    for (std::int64_t p = 0; p < plan.planes; ++p) {
      avg_pool_plane(in + p * plan.in_plane(), plan, step, out + p * plan.out_plane());
    }
  });
}

void average_backward(const Tensor& dy, const Pool2dPlan& plan, Tensor& dx, const char* op) {
  if (dx.device().is_cuda()) return cuda::avg_pool2d_backward(dy, plan, dx);
  const float* grad = detail::cpu_floats(dy, op);
  float* out = detail::cpu_floats(dx, op);
  if (plan.cols.kernel == 0) {
    for (std::int64_t p = 0; p < plan.planes; ++p) {
      adaptive_avg_pool_plane_backward(grad + p * plan.out_plane(), plan,
                                       out + p * plan.in_plane());
    }
    return;
  }
  with_stride(plan.cols.stride, [&](auto step) {
    for (std::int64_t p = 0; p < plan.planes; ++p) {
      avg_pool_plane_backward(grad + p * plan.out_plane(), plan, step, out + p * plan.in_plane());
    }
  });
}

void check_argmax(const Tensor& argmax, const Tensor& pooled, const char* op) {
  DDP_CHECK(argmax.dtype() == DType::int32 && argmax.shape() == pooled.shape(),
            op << ": argmax must be int32 of the pooled shape " << ddp::to_string(pooled.shape())
               << ", got " << ddp::to_string(argmax.dtype()) << " "
               << ddp::to_string(argmax.shape()));
  detail::check_on(argmax, pooled.device(), op);
}

}  // namespace

Shape pool2d_output_shape(const Shape& input, std::int64_t kernel, std::int64_t stride,
                          const char* layer) {
  DDP_CHECK_ARG(kernel >= 1 && stride >= 1, layer << ": kernel_size " << kernel << " and stride "
                                                  << stride << " must both be >= 1");
  DDP_CHECK(input.size() == 4, layer << " needs an input [N, C, H, W]; got "
                                     << ddp::to_string(input)
                                     << " (a single image is [1, C, H, W])");
  DDP_CHECK(input[2] >= kernel && input[3] >= kernel,
            layer << " with kernel_size " << kernel << " needs H and W >= " << kernel
                  << "; got input " << ddp::to_string(input)
                  << "; use a smaller kernel or a larger input");
  return {input[0], input[1], (input[2] - kernel) / stride + 1, (input[3] - kernel) / stride + 1};
}

void max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, Tensor& y,
                Tensor& argmax) {
  const Pool2dPlan plan = fixed_plan(x, y, kernel, stride, "max_pool2d");
  check_argmax(argmax, y, "max_pool2d");
  DDP_CHECK(plan.in_plane() <= std::numeric_limits<std::int32_t>::max(),
            "max_pool2d: a plane of " << plan.rows.in << " x " << plan.cols.in
                                      << " elements is too large for int32 argmax positions");
  if (y.device().is_cuda()) return cuda::max_pool2d(x, plan, y, argmax);
  const float* in = detail::cpu_floats(x, "max_pool2d");
  float* out = detail::cpu_floats(y, "max_pool2d");
  std::int32_t* index = argmax.data<std::int32_t>();
  with_stride(plan.cols.stride, [&](auto step) {
    for (std::int64_t p = 0; p < plan.planes; ++p) {
      const std::int64_t pooled = p * plan.out_plane();
      max_pool_plane(in + p * plan.in_plane(), plan, step, out + pooled, index + pooled);
    }
  });
}

void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, std::int64_t kernel,
                         std::int64_t stride, Tensor& dx) {
  const Pool2dPlan plan = fixed_plan(dx, dy, kernel, stride, "max_pool2d_backward");
  check_argmax(argmax, dy, "max_pool2d_backward");
  if (dx.device().is_cuda()) return cuda::max_pool2d_backward(dy, argmax, plan, dx);
  const float* grad = detail::cpu_floats(dy, "max_pool2d_backward");
  const std::int32_t* index = argmax.data<std::int32_t>();
  float* out = detail::cpu_floats(dx, "max_pool2d_backward");
  std::fill(out, out + dx.numel(), 0.0f);
  const std::int64_t windows = plan.out_plane();
  for (std::int64_t p = 0; p < plan.planes; ++p) {
    float* plane = out + p * plan.in_plane();
    for (std::int64_t o = 0; o < windows; ++o) plane[*index++] += *grad++;
  }
}

void avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, Tensor& y) {
  average_forward(x, fixed_plan(x, y, kernel, stride, "avg_pool2d"), y, "avg_pool2d");
}

void avg_pool2d_backward(const Tensor& dy, std::int64_t kernel, std::int64_t stride, Tensor& dx) {
  average_backward(dy, fixed_plan(dx, dy, kernel, stride, "avg_pool2d_backward"), dx,
                   "avg_pool2d_backward");
}

void adaptive_avg_pool2d(const Tensor& x, Tensor& y) {
  average_forward(x, adaptive_plan(x, y, "adaptive_avg_pool2d"), y, "adaptive_avg_pool2d");
}

void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  average_backward(dy, adaptive_plan(dx, dy, "adaptive_avg_pool2d_backward"), dx,
                   "adaptive_avg_pool2d_backward");
}

}  // namespace ddp::kernels
