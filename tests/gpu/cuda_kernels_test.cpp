// Every CUDA kernel behind the kernels' dispatch against the CPU path on the same random inputs.
// Tolerances: exact where the GPU does the CPU's float operations one by one (pointwise, bias
// broadcast, ReLU, squared-error gradient, conversions, gathers, dropout masks); a few ulps
// (rel 1e-5 plus abs 1e-6) where CUDA's erff, expf, tanhf and logf or a reordered float sum
// differ from glibc's and the CPU's loop; rel 1e-12 for the sums accumulated in double.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "compare.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/kernels/bias.hpp"
#include "ddp/kernels/convert.hpp"
#include "ddp/kernels/embedding.hpp"
#include "ddp/kernels/loss.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/reduce.hpp"
#include "ddp/kernels/softmax.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_close;
using gpu_test::expect_equal;
using gpu_test::expect_error_naming_both_devices;
using gpu_test::kGpu;
using gpu_test::random_tensor;
using kernels::Activation;

constexpr double kUlpsRel = 1e-5;
constexpr double kUlpsAbs = 1e-6;

// int64 indices in [0, limit) on the host.
Tensor random_indices(std::int64_t n, std::int64_t limit, std::uint64_t seed) {
  Generator generator(seed);
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  for (auto& v : values) v = static_cast<std::int64_t>(generator.uniform_int(limit));
  return Tensor::from_vector(values, {n});
}

// Shapes [rows, columns] with an empty one, a single element, odd sizes and a wide row.
const std::vector<Shape> kMatrices = {{0, 5}, {1, 1}, {37, 10}, {129, 33}, {3, 4099}};

using CudaKernels = GpuTest;

TEST_F(CudaKernels, BroadcastRowsIsExact) {
  for (const Shape& shape : kMatrices) {
    const Tensor bias = random_tensor({shape[1]}, 1);
    Tensor y = Tensor::empty(shape);
    Tensor gpu_y = Tensor::empty(shape, DType::float32, kGpu);
    kernels::broadcast_rows(bias, y);
    kernels::broadcast_rows(bias.to(kGpu), gpu_y);
    expect_equal(gpu_y, y);
  }
}

TEST_F(CudaKernels, SumRowsMatchesWithAndWithoutAccumulating) {
  for (const Shape& shape : kMatrices) {
    for (bool accumulate : {false, true}) {
      const Tensor dy = random_tensor(shape, 2);
      Tensor grad = random_tensor({shape[1]}, 3);
      Tensor gpu_grad = grad.to(kGpu);
      kernels::sum_rows(dy, grad, accumulate);
      kernels::sum_rows(dy.to(kGpu), gpu_grad, accumulate);
      // A float sum of rows terms in another order: errs with the row count.
      expect_close(gpu_grad, grad, kUlpsRel, kUlpsAbs * static_cast<double>(shape[0] + 1));
    }
  }
}

class CudaActivation : public GpuTest, public ::testing::WithParamInterface<Activation> {};

TEST_P(CudaActivation, ForwardAndBackwardMatch) {
  const Activation activation = GetParam();
  const Shape shape{129, 33};
  const Tensor x = random_tensor(shape, 4, -4.0f, 4.0f);
  const Tensor dy = random_tensor(shape, 5);
  Tensor y = Tensor::empty(shape);
  Tensor dx = Tensor::empty(shape);
  kernels::activation_forward(activation, x, y);
  kernels::activation_backward(activation, x, y, dy, dx);
  const Tensor gpu_x = x.to(kGpu);
  Tensor gpu_y = Tensor::empty(shape, DType::float32, kGpu);
  Tensor gpu_dx = dy.to(kGpu);  // in place: dx may be dy
  kernels::activation_forward(activation, gpu_x, gpu_y);
  // Backward from the CPU's y, so that only the derivative is compared.
  kernels::activation_backward(activation, gpu_x, y.to(kGpu), gpu_dx, gpu_dx);
  if (activation == Activation::relu) {
    expect_equal(gpu_y, y);
    expect_equal(gpu_dx, dx);
  } else {
    expect_close(gpu_y, y, kUlpsRel, kUlpsAbs);
    expect_close(gpu_dx, dx, kUlpsRel, kUlpsAbs);
  }
  // Forward in place (y may be x).
  Tensor in_place = x.to(kGpu);
  kernels::activation_forward(activation, in_place, in_place);
  expect_equal(in_place, gpu_y);
  // With a bias in the same pass, as a fused Linear and activation run.
  const Tensor bias = random_tensor({shape[1]}, 6);
  Tensor z = x.clone();
  Tensor fused = Tensor::empty(shape);
  kernels::bias_activation_forward(activation, bias, z, fused);
  Tensor gpu_z = x.to(kGpu);
  Tensor gpu_fused = Tensor::empty(shape, DType::float32, kGpu);
  kernels::bias_activation_forward(activation, bias.to(kGpu), gpu_z, gpu_fused);
  expect_equal(gpu_z, z);
  if (activation == Activation::relu) {
    expect_equal(gpu_fused, fused);
  } else {
    expect_close(gpu_fused, fused, kUlpsRel, kUlpsAbs);
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaActivation,
                         ::testing::Values(Activation::relu, Activation::gelu,
                                           Activation::gelu_tanh, Activation::tanh),
                         [](const ::testing::TestParamInfo<Activation>& param_info) {
                           return kernels::to_string(param_info.param);
                         });

TEST_F(CudaKernels, ReluPassesNanThrough) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = Tensor::from_vector(std::vector<float>{nan, -1.0f, 2.0f}, {3}).to(kGpu);
  kernels::activation_forward(Activation::relu, x, x);
  const std::vector<float> y = x.to_vector<float>();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

TEST_F(CudaKernels, SoftmaxAndLogSoftmaxMatch) {
  for (const Shape& shape : kMatrices) {
    // Large logits: the max subtraction must keep them finite.
    const Tensor x = random_tensor(shape, 6, -50.0f, 50.0f);
    Tensor y = Tensor::empty(shape);
    Tensor log_y = Tensor::empty(shape);
    kernels::softmax_rows(x, y);
    kernels::log_softmax_rows(x, log_y);
    Tensor gpu_y = x.to(kGpu);  // in place
    Tensor gpu_log_y = Tensor::empty(shape, DType::float32, kGpu);
    kernels::softmax_rows(gpu_y, gpu_y);
    kernels::log_softmax_rows(x.to(kGpu), gpu_log_y);
    expect_close(gpu_y, y, kUlpsRel, kUlpsAbs);
    expect_close(gpu_log_y, log_y, kUlpsRel, kUlpsAbs);
  }
}

TEST_F(CudaKernels, CrossEntropyForwardAndBackwardMatch) {
  for (const Shape& shape : kMatrices) {
    const Tensor logits = random_tensor(shape, 7, -5.0f, 5.0f);
    const Tensor targets = random_indices(shape[0], shape[1], 8);
    Tensor log_probs = Tensor::empty(shape);
    Tensor grad = Tensor::empty(shape);
    const double loss = kernels::cross_entropy_forward(logits, targets, log_probs);
    kernels::cross_entropy_backward(log_probs, targets, 0.25f, grad);
    const Tensor gpu_targets = targets.to(kGpu);
    Tensor gpu_log_probs = Tensor::empty(shape, DType::float32, kGpu);
    Tensor gpu_grad = Tensor::empty(shape, DType::float32, kGpu);
    const double gpu_loss =
        kernels::cross_entropy_forward(logits.to(kGpu), gpu_targets, gpu_log_probs);
    kernels::cross_entropy_backward(log_probs.to(kGpu), gpu_targets, 0.25f, gpu_grad);
    EXPECT_NEAR(gpu_loss, loss, kUlpsRel * std::abs(loss) + kUlpsAbs);
    expect_close(gpu_log_probs, log_probs, kUlpsRel, kUlpsAbs);
    expect_close(gpu_grad, grad, kUlpsRel, kUlpsAbs);
  }
}

TEST_F(CudaKernels, CrossEntropyTargetOutsideTheClassesIsAnError) {
  const Tensor logits = Tensor::zeros({3, 4}, DType::float32, kGpu);
  const Tensor targets = Tensor::from_vector(std::vector<std::int64_t>{0, 4, 1}, {3}).to(kGpu);
  Tensor log_probs = Tensor::empty({3, 4}, DType::float32, kGpu);
  try {
    kernels::cross_entropy_forward(logits, targets, log_probs);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("target 4 in row 1"), std::string::npos)
        << error.what();
  }
}

TEST_F(CudaKernels, SquaredErrorMatches) {
  const Tensor prediction = random_tensor({129, 7}, 9);
  const Tensor target = random_tensor({129, 7}, 10);
  Tensor grad = Tensor::empty({129, 7});
  const double loss = kernels::squared_error_forward(prediction, target);
  kernels::squared_error_backward(prediction, target, 0.5f, grad);
  Tensor gpu_grad = Tensor::empty({129, 7}, DType::float32, kGpu);
  const double gpu_loss = kernels::squared_error_forward(prediction.to(kGpu), target.to(kGpu));
  kernels::squared_error_backward(prediction.to(kGpu), target.to(kGpu), 0.5f, gpu_grad);
  EXPECT_NEAR(gpu_loss, loss, 1e-12 * loss);
  expect_equal(gpu_grad, grad);
}

TEST_F(CudaKernels, PointwiseIsExact) {
  const Tensor a = random_tensor({1000003}, 11);
  const Tensor b = random_tensor({1000003}, 12);
  Tensor x = a.clone();
  Tensor gpu_x = a.to(kGpu);
  kernels::scale_(x, 0.3f);
  kernels::scale_(gpu_x, 0.3f);
  expect_equal(gpu_x, x);
  kernels::add_scaled_(x, -1.7f, b);
  kernels::add_scaled_(gpu_x, -1.7f, b.to(kGpu));
  expect_equal(gpu_x, x);
  Tensor product = Tensor::empty({1000003});
  kernels::multiply(a, b, product);
  Tensor gpu_a = a.to(kGpu);
  kernels::multiply(gpu_a, b.to(kGpu), gpu_a);  // out may be a
  expect_equal(gpu_a, product);
}

TEST_F(CudaKernels, DropoutMaskEqualsTheCpuMaskForTheSameSeed) {
  // Sizes around a thread's run of 64 draws, and masks one after another: each must start where
  // the previous one left the generator, on the device as on the CPU.
  Generator cpu_generator(42);
  Generator gpu_generator(42);
  for (Shape shape : {Shape{77, 13}, Shape{1}, Shape{63}, Shape{64}, Shape{65}, Shape{1000003}}) {
    Tensor mask = Tensor::empty(shape);
    Tensor gpu_mask = Tensor::empty(shape, DType::float32, kGpu);
    kernels::dropout_mask(mask, 0.3f, cpu_generator);
    kernels::dropout_mask(gpu_mask, 0.3f, gpu_generator);
    expect_equal(gpu_mask, mask);
    EXPECT_EQ(gpu_generator.state(), cpu_generator.state()) << to_string(shape);
  }
}

TEST_F(CudaKernels, SumsMatchAndRepeat) {
  for (std::int64_t n : {0, 1, 255, 1000003}) {
    const Tensor x = random_tensor({n}, 13);
    const Tensor gpu_x = x.to(kGpu);
    const double total = kernels::sum(x);
    const double squares = kernels::squared_norm(x);
    EXPECT_NEAR(kernels::sum(gpu_x), total, 1e-12 * static_cast<double>(n) + 1e-12);
    EXPECT_NEAR(kernels::squared_norm(gpu_x), squares, 1e-12 * squares + 1e-12);
    // A fixed order of additions: the same bits every time, as ranks comparing norms need.
    EXPECT_EQ(kernels::squared_norm(gpu_x), kernels::squared_norm(gpu_x));
  }
}

TEST_F(CudaKernels, Bfloat16ConversionsAreBitExact) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> values = {0.0f,     -0.0f, 1.0f, 1.00390625f, 1.01171875f,
                               -3.3e38f, inf,   -inf, nan,         1e-40f};
  Tensor random = random_tensor({1001}, 14, -1e3f, 1e3f);
  for (float v : random.to_vector<float>()) values.push_back(v);
  const auto n = static_cast<std::int64_t>(values.size());
  const Tensor src = Tensor::from_vector(values, {n});
  Tensor half = Tensor::empty({n}, DType::bfloat16);
  Tensor gpu_half = Tensor::empty({n}, DType::bfloat16, kGpu);
  kernels::to_bfloat16(src, half);
  kernels::to_bfloat16(src.to(kGpu), gpu_half);
  const Tensor gpu_half_host = gpu_half.to(Device::cpu());
  const auto* want = static_cast<const std::uint16_t*>(half.data_ptr());
  const auto* got = static_cast<const std::uint16_t*>(gpu_half_host.data_ptr());
  EXPECT_EQ(std::vector<std::uint16_t>(got, got + n), std::vector<std::uint16_t>(want, want + n));
  Tensor back = Tensor::empty({n});
  Tensor gpu_back = Tensor::empty({n}, DType::float32, kGpu);
  kernels::from_bfloat16(half, back);
  kernels::from_bfloat16(gpu_half, gpu_back);
  const std::vector<float> b1 = back.to_vector<float>();
  const std::vector<float> b2 = gpu_back.to_vector<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(b1[i] == b2[i] || (std::isnan(b1[i]) && std::isnan(b2[i]))) << i;
  }
}

TEST_F(CudaKernels, EmbeddingGatherAndScatterMatch) {
  const Tensor table = random_tensor({50, 17}, 15);
  const Tensor indices = random_indices(200, 50, 16);  // repeats: scatter adds them up
  const Tensor grad_out = random_tensor({200, 17}, 17);
  Tensor out = Tensor::empty({200, 17});
  Tensor grad_table = Tensor::zeros({50, 17});
  kernels::gather_rows(table, indices, out);
  kernels::scatter_add_rows(grad_out, indices, grad_table);
  const Tensor gpu_indices = indices.to(kGpu);
  Tensor gpu_out = Tensor::empty({200, 17}, DType::float32, kGpu);
  Tensor gpu_grad_table = Tensor::zeros({50, 17}, DType::float32, kGpu);
  kernels::gather_rows(table.to(kGpu), gpu_indices, gpu_out);
  kernels::scatter_add_rows(grad_out.to(kGpu), gpu_indices, gpu_grad_table);
  expect_equal(gpu_out, out);
  // Atomic adds in another order: a float sum of at most 200 terms.
  expect_close(gpu_grad_table, grad_table, kUlpsRel, 2e-5);
}

TEST_F(CudaKernels, EmbeddingIndexOutsideTheTableIsAnError) {
  const Tensor table = Tensor::zeros({5, 3}, DType::float32, kGpu);
  const Tensor indices = Tensor::from_vector(std::vector<std::int64_t>{1, -1}, {2}).to(kGpu);
  Tensor out = Tensor::empty({2, 3}, DType::float32, kGpu);
  try {
    kernels::gather_rows(table, indices, out);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("index -1 at position 1"), std::string::npos)
        << error.what();
  }
}

// Either way round: the kernel of the written tensor's device names the other device.
TEST_F(CudaKernels, TensorsOnTwoDevicesAreAnErrorNamingBoth) {
  const Tensor cpu = Tensor::zeros({4, 3});
  const Tensor gpu = Tensor::zeros({4, 3}, DType::float32, kGpu);
  Tensor cpu_out = Tensor::empty({4, 3});
  Tensor gpu_out = Tensor::empty({4, 3}, DType::float32, kGpu);
  expect_error_naming_both_devices(
      [&] { kernels::activation_forward(Activation::relu, cpu, gpu_out); });
  expect_error_naming_both_devices(
      [&] { kernels::activation_forward(Activation::relu, gpu, cpu_out); });
  expect_error_naming_both_devices([&] { kernels::multiply(gpu, cpu, gpu_out); });
  expect_error_naming_both_devices([&] { kernels::add_scaled_(gpu_out, 1.0f, cpu); });
  Tensor cpu_bias = Tensor::empty({3});
  expect_error_naming_both_devices([&] { kernels::sum_rows(gpu, cpu_bias, false); });
}

}  // namespace
}  // namespace ddp
