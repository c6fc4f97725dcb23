// Conv2d and its kernels on cuda:0 against the CPU: im2col and col2im move and add the same
// elements in the same order (bit for bit), the channel bias and its sums agree to fp32 rounding,
// and the layer's forward and backward agree where the GPU runs the whole batch in one GEMM and
// the CPU one image at a time or in chunks.
#include "compare.hpp"
#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/conv.hpp"
#include "ddp/nn/conv2d.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::kGpu;

struct ConvCase {
  std::int64_t in, out, kernel, stride, padding;
  bool bias;
  Shape x;
};

const ConvCase kCases[] = {
    {3, 4, 3, 1, 1, true, {2, 3, 7, 5}},  {2, 3, 5, 2, 2, true, {3, 2, 9, 8}},
    {3, 5, 1, 2, 0, false, {2, 3, 7, 6}}, {1, 8, 5, 1, 2, true, {4, 1, 28, 28}},
    {2, 3, 3, 1, 1, true, {45, 2, 4, 3}},  // CPU chunks of 21 images, GPU one GEMM
    {2, 3, 3, 1, 1, true, {0, 2, 5, 4}},   // an empty slice of the batch
};

kernels::ConvWindow window_of(const ConvCase& c) {
  return {c.kernel, c.stride, c.padding};
}

Shape columns_shape(const ConvCase& c) {
  const kernels::ConvWindow window = window_of(c);
  return {c.x[1] * c.kernel * c.kernel,
          c.x[0] * window.output_size(c.x[2]) * window.output_size(c.x[3])};
}

TEST_F(GpuTest, Im2colAndCol2imEqualTheCpuBitForBit) {
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(to_string(c.x));
    const kernels::ConvWindow window = window_of(c);
    const Tensor x = gpu_test::random_tensor(c.x, 1);
    Tensor col_cpu = Tensor::empty(columns_shape(c));
    Tensor col_gpu = Tensor::empty(columns_shape(c), DType::float32, kGpu);
    kernels::im2col(x, window, col_cpu);
    kernels::im2col(x.to(kGpu), window, col_gpu);
    gpu_test::expect_equal(col_gpu, col_cpu);

    const Tensor grad_col = gpu_test::random_tensor(columns_shape(c), 2);
    Tensor dx_cpu = Tensor::empty(c.x);
    Tensor dx_gpu = Tensor::empty(c.x, DType::float32, kGpu);
    kernels::col2im(grad_col, window, dx_cpu);
    kernels::col2im(grad_col.to(kGpu), window, dx_gpu);
    gpu_test::expect_equal(dx_gpu, dx_cpu);
  }
}

TEST_F(GpuTest, ChannelBiasAndItsSumsEqualTheCpu) {
  const Tensor bias = gpu_test::random_tensor({5}, 3);
  Tensor maps_cpu = Tensor::empty({3, 5, 7});
  Tensor maps_gpu = Tensor::empty({3, 5, 7}, DType::float32, kGpu);
  kernels::broadcast_channels(bias, maps_cpu);
  kernels::broadcast_channels(bias.to(kGpu), maps_gpu);
  gpu_test::expect_equal(maps_gpu, maps_cpu);

  const Tensor dy = gpu_test::random_tensor({6, 5, 300}, 4);
  for (bool accumulate : {false, true}) {
    Tensor sums_cpu = gpu_test::random_tensor({5}, 5);
    Tensor sums_gpu = sums_cpu.to(kGpu);
    kernels::sum_channels(dy, sums_cpu, accumulate);
    kernels::sum_channels(dy.to(kGpu), sums_gpu, accumulate);
    gpu_test::expect_close(sums_gpu, sums_cpu, 1e-5, 1e-5);
  }
}

TEST_F(GpuTest, Conv2dStepEqualsTheCpu) {
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(to_string(c.x));
    Generator cpu_init(6), gpu_init(6);
    const nn::Conv2dOptions options{.stride = c.stride, .padding = c.padding, .bias = c.bias};
    nn::Conv2d cpu(c.in, c.out, c.kernel, cpu_init, options);
    nn::Conv2d gpu(c.in, c.out, c.kernel, gpu_init, options);
    const kernels::ConvWindow window = window_of(c);
    const Shape out_shape{c.x[0], c.out, window.output_size(c.x[2]), window.output_size(c.x[3])};
    // Sums of up to in*k*k products (or a batch's positions) in another order: a little above
    // fp32 rounding near 0.
    gpu_test::expect_same_step(cpu, gpu, gpu_test::random_tensor(c.x, 7), out_shape, 1e-5, 1e-5);
  }
}

TEST_F(GpuTest, Conv2dFirstLayerGivesNoInputGradient) {
  Generator cpu_init(8), gpu_init(8);
  nn::Conv2d cpu(1, 32, 5, cpu_init, {.padding = 2});
  nn::Conv2d gpu(1, 32, 5, gpu_init, {.padding = 2});
  cpu.set_input_grad_needed(false);
  gpu.set_input_grad_needed(false);
  gpu_test::expect_same_step(cpu, gpu, gpu_test::random_tensor({64, 1, 28, 28}, 9),
                             {64, 32, 28, 28}, 1e-5, 1e-4);
}

}  // namespace
}  // namespace ddp
