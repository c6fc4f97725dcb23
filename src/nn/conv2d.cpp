#include "ddp/nn/conv2d.hpp"

#include <algorithm>
#include <sstream>
#include <string>

#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/shape.hpp"
#include "ddp/nn/init.hpp"

namespace ddp::nn {
namespace {

using kernels::Transpose;

// On the CPU one image's GEMM already runs as fast per flop as the whole batch's, and its columns
// stay in cache between im2col and the GEMM: images are grouped only while they are too small to
// give a GEMM this many columns (grouping costs a permute of the output).
constexpr std::int64_t kCpuGemmColumns = 256;
// On a GPU the whole batch in one GEMM, while its columns fit in this many floats (256 MiB).
constexpr std::int64_t kGpuColumnElements = std::int64_t{1} << 26;

}  // namespace

std::string Conv2d::description() const {
  std::ostringstream text;
  text << "Conv2d(" << in_channels_ << ", " << out_channels_
       << ", kernel_size=" << window_.kernel_size << ", stride=" << window_.stride
       << ", padding=" << window_.padding << ")";
  return text.str();
}

std::int64_t Conv2d::taps() const {
  return in_channels_ * window_.kernel_size * window_.kernel_size;
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
               Generator& generator, Conv2dOptions options)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      window_{kernel_size, options.stride, options.padding},
      with_bias_(options.bias) {
  DDP_CHECK_ARG(
      in_channels > 0 && out_channels > 0 && kernel_size > 0 && options.stride > 0 &&
          options.padding >= 0,
      description() << " needs positive channel counts, kernel size and stride, and padding >= 0");
  const float bound = fan_in_uniform_bound(taps());
  fill_uniform(
      register_parameter("weight", {out_channels, in_channels, kernel_size, kernel_size}).value,
      bound, generator);
  if (with_bias_) fill_uniform(register_parameter("bias", {out_channels}).value, bound, generator);
}

Shape Conv2d::output_shape(const Tensor& input) const {
  DDP_CHECK(input.ndim() == 4 && input.size(1) == in_channels_ && input.dtype() == DType::float32,
            description() << " got " << to_string(input.dtype()) << " input "
                          << to_string(input.shape()) << "; it takes float32 [N, " << in_channels_
                          << ", H, W]");
  const std::int64_t height = input.size(2);
  const std::int64_t width = input.size(3);
  DDP_CHECK(height + 2 * window_.padding >= window_.kernel_size &&
                width + 2 * window_.padding >= window_.kernel_size,
            description() << " got input " << to_string(input.shape()) << ": " << height << "x"
                          << width << " padded by " << window_.padding
                          << " is smaller than the kernel " << window_.kernel_size << "x"
                          << window_.kernel_size << "; give larger images or more padding");
  return {input.size(0), out_channels_, window_.output_size(height), window_.output_size(width)};
}

std::int64_t Conv2d::samples_per_chunk(std::int64_t n, std::int64_t positions,
                                       const Device& device) const {
  const std::int64_t wanted =
      device.is_cuda() ? kGpuColumnElements / (taps() * positions) : kCpuGemmColumns / positions;
  return std::max<std::int64_t>(1, std::min(n, wanted));
}

Tensor Conv2d::chunk_columns(Frame& frame, std::int64_t first, std::int64_t count) {
  Tensor columns =
      frame.columns.memory.get({taps(), count * frame.positions}, parameter(0).value.device());
  if (frame.columns.chunk != first) {
    kernels::im2col(frame.input.rows(first, first + count), window_, columns);
    frame.columns.chunk = first;
  }
  return columns;
}

Tensor Conv2d::chunk_grad_output(Frame& frame, const Tensor& grad_output, std::int64_t first,
                                 std::int64_t count) {
  const Tensor maps = grad_output.rows(first, first + count);
  if (count == 1) return maps.reshape({out_channels_, frame.positions});
  Tensor columns = frame.out_columns.memory.get({out_channels_, count * frame.positions},
                                                parameter(0).value.device());
  if (frame.out_columns.chunk != first) {
    Tensor by_channel = columns.reshape({out_channels_, count, frame.positions});
    kernels::permute(maps.reshape({count, out_channels_, frame.positions}), {1, 0, 2}, by_channel);
    frame.out_columns.chunk = first;
  }
  return columns;
}

Tensor Conv2d::forward_impl(const Tensor& input) {
  const Shape out_shape = output_shape(input);
  Frame& frame = frames_[call_index()];
  frame.input = input;
  frame.positions = out_shape[2] * out_shape[3];
  frame.columns.chunk = -1;
  frame.out_columns.chunk = -1;
  const Tensor& weight = parameter(0).value;
  const Device device = weight.device();
  Tensor output = frame.output.get(out_shape, device);
  const std::int64_t n = input.size(0);
  const Tensor weight_matrix = weight.reshape({out_channels_, taps()});
  const std::int64_t chunk = samples_per_chunk(n, frame.positions, device);
  for (std::int64_t first = 0; first < n; first += chunk) {
    const std::int64_t count = std::min(chunk, n - first);
    const Tensor columns = chunk_columns(frame, first, count);
    Tensor maps = output.rows(first, first + count);
    // One image's GEMM writes its output in place; several write [out, images, Ho*Wo], permuted.
    Tensor result =
        count == 1 ? maps.reshape({out_channels_, frame.positions})
                   : frame.out_columns.memory.get({out_channels_, count * frame.positions}, device);
    if (with_bias_) {
      Tensor per_channel = result.reshape({1, out_channels_, count * frame.positions});
      kernels::broadcast_channels(parameter(1).value, per_channel);
    }
    kernels::gemm(weight_matrix, Transpose::no, columns, Transpose::no, result, 1.0f,
                  with_bias_ ? 1.0f : 0.0f);
    if (count > 1) {
      maps = maps.reshape({count, out_channels_, frame.positions});
      kernels::permute(result.reshape({out_channels_, count, frame.positions}), {1, 0, 2}, maps);
    }
  }
  return output;
}

Tensor Conv2d::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  DDP_CHECK(frame.input.defined(), description() << " backward before forward; call forward first");
  const Shape out_shape = output_shape(frame.input);
  DDP_CHECK(grad_output.numel() == numel(out_shape),
            description() << " backward got grad_output " << to_string(grad_output.shape())
                          << " for an output of " << to_string(out_shape)
                          << "; call forward first, with the same batch");
  const Tensor dy = grad_output.reshape(out_shape);
  const std::int64_t n = out_shape[0];
  frame.out_columns.chunk = -1;  // it held the forward's output
  // Bias first, then weight: the reverse of registration, the order DDP's buckets expect.
  if (with_bias_) {
    Parameter& bias = parameter(1);
    kernels::sum_channels(dy.reshape({n, out_channels_, frame.positions}), bias.grad,
                          bias.has_grad);
    grad_ready(bias);
  }
  Parameter& weight = parameter(0);
  const Device device = weight.value.device();
  Tensor grad_weight = weight.grad.reshape({out_channels_, taps()});
  if (n == 0 && !weight.has_grad) grad_weight.zero_();
  const std::int64_t chunk = samples_per_chunk(n, frame.positions, device);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  bool accumulate = weight.has_grad;
  // The last chunk first: the forward left its columns in place.
  for (std::int64_t index = chunks; index-- > 0;) {
    const std::int64_t first = index * chunk;
    const std::int64_t count = std::min(chunk, n - first);
    kernels::gemm(chunk_grad_output(frame, dy, first, count), Transpose::no,
                  chunk_columns(frame, first, count), Transpose::yes, grad_weight, 1.0f,
                  accumulate ? 1.0f : 0.0f);
    accumulate = true;
  }
  grad_ready(weight);
  if (!input_grad_needed()) return {};
  Tensor grad_input = frame.grad_input.get(frame.input.shape(), device);
  const Tensor weight_matrix = weight.value.reshape({out_channels_, taps()});
  // The first chunk first: the loop above left its dy in place.
  for (std::int64_t index = 0; index < chunks; ++index) {
    const std::int64_t first = index * chunk;
    const std::int64_t count = std::min(chunk, n - first);
    const Tensor chunk_dy = chunk_grad_output(frame, dy, first, count);
    Tensor grad_columns = frame.columns.memory.get({taps(), count * frame.positions}, device);
    frame.columns.chunk = -1;  // now the columns' gradient
    kernels::gemm(weight_matrix, Transpose::yes, chunk_dy, Transpose::no, grad_columns);
    Tensor grad_maps = grad_input.rows(first, first + count);
    kernels::col2im(grad_columns, window_, grad_maps);
  }
  return grad_input;
}

}  // namespace ddp::nn
