// Helpers of the GPU tests that run a kernel or a module on both devices: random host tensors,
// copies on cuda:0, and comparisons with a stated tolerance.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"
#include "ddp/core/tensor.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::gpu_test {

inline const Device kGpu = Device::cuda(0);

// A host float32 tensor of shape, uniform in [low, high) from a fixed seed.
inline Tensor random_tensor(const Shape& shape, std::uint64_t seed, float low = -1.0f,
                            float high = 1.0f) {
  Generator generator(seed);
  std::vector<float> values(static_cast<std::size_t>(numel(shape)));
  for (float& v : values) v = generator.uniform(low, high);
  return Tensor::from_vector(values, shape);
}

// Every element of gpu (read back) within abs_tol + rel_tol * |cpu element| of cpu.
inline void expect_close(const Tensor& gpu, const Tensor& cpu, double rel_tol, double abs_tol) {
  ASSERT_EQ(gpu.shape(), cpu.shape());
  const std::vector<float> got = gpu.to_vector<float>();
  const std::vector<float> want = cpu.to_vector<float>();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double tol = abs_tol + rel_tol * std::abs(static_cast<double>(want[i]));
    if (!(std::abs(static_cast<double>(got[i]) - want[i]) <= tol)) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": gpu " << got[i] << ", cpu " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u) << "of " << want.size() << " elements";
}

// The same bits on both devices.
inline void expect_equal(const Tensor& gpu, const Tensor& cpu) {
  ASSERT_EQ(gpu.shape(), cpu.shape());
  EXPECT_EQ(gpu.to_vector<float>(), cpu.to_vector<float>());
}

// The same bytes on both devices, for a tensor of any dtype.
inline void expect_same_bits(const Tensor& gpu, const Tensor& cpu) {
  ASSERT_EQ(gpu.shape(), cpu.shape());
  ASSERT_EQ(gpu.dtype(), cpu.dtype());
  const Tensor got = gpu.to(Device::cpu());
  const auto* got_bytes = static_cast<const unsigned char*>(got.data_ptr());
  const auto* want_bytes = static_cast<const unsigned char*>(cpu.data_ptr());
  EXPECT_EQ(std::vector<unsigned char>(got_bytes, got_bytes + got.nbytes()),
            std::vector<unsigned char>(want_bytes, want_bytes + cpu.nbytes()));
}

inline double max_abs(const Tensor& t) {
  double m = 0.0;
  for (float v : t.to_vector<float>()) m = std::max(m, std::abs(static_cast<double>(v)));
  return m;
}

// call() must throw an Error whose message names both devices, the host and cuda:0.
template <typename Call>
void expect_error_naming_both_devices(Call call) {
  try {
    call();
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cpu"), std::string::npos) << message;
    EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
  }
}

// Forward and backward of a module on both devices from the same input and output gradient (gpu
// is moved to cuda:0 first): the outputs, input gradients and parameter gradients agree within
// abs_tol + rel_tol * |cpu element|.
inline void expect_same_step(nn::Module& cpu, nn::Module& gpu, const Tensor& x,
                             const Shape& out_shape, double rel_tol = 1e-5, double abs_tol = 1e-6) {
  gpu.to(kGpu);
  const Tensor dy = random_tensor(out_shape, 77);
  cpu.zero_grad();
  gpu.zero_grad();
  expect_close(gpu.forward(x.to(kGpu)), cpu.forward(x), rel_tol, abs_tol);
  const Tensor dx_gpu = gpu.backward(dy.to(kGpu));
  const Tensor dx_cpu = cpu.backward(dy);
  EXPECT_EQ(dx_gpu.defined(), dx_cpu.defined());
  if (dx_cpu.defined()) expect_close(dx_gpu, dx_cpu, rel_tol, abs_tol);
  const auto p = cpu.parameters(), q = gpu.parameters();
  ASSERT_EQ(p.size(), q.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    SCOPED_TRACE(p[i]->name);
    expect_close(q[i]->grad, p[i]->grad, rel_tol, abs_tol);
  }
}

}  // namespace ddp::gpu_test
