// Finite-difference gradient checks for modules and losses (test helper).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "ddp/core/random.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::nn::testing {

inline Tensor random_tensor(Shape shape, Generator& generator, float low = -1.0f,
                            float high = 1.0f) {
  Tensor t = Tensor::empty(std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = generator.uniform(low, high);
  return t;
}

inline double weighted_sum(const Tensor& y, const Tensor& weights) {
  double total = 0.0;
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    total += static_cast<double>(y.data<float>()[i]) * weights.data<float>()[i];
  }
  return total;
}

// Central differences of objective() by each element of x, against analytic[i].
inline void expect_matches_differences(Tensor x, const Tensor& analytic,
                                       const std::function<double()>& objective,
                                       const std::string& what, double eps = 1e-2,
                                       double tolerance = 2e-3) {
  ASSERT_EQ(x.numel(), analytic.numel()) << what;
  float* data = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const float saved = data[i];
    data[i] = saved + static_cast<float>(eps);
    const double plus = objective();
    data[i] = saved - static_cast<float>(eps);
    const double minus = objective();
    data[i] = saved;
    const double numeric = (plus - minus) / (2.0 * eps);
    const double exact = analytic.data<float>()[i];
    EXPECT_NEAR(exact, numeric, tolerance * (1.0 + std::abs(numeric))) << what << " element " << i;
  }
}

// Checks d/d input and d/d every parameter of L = sum(module(input) * r) for a random r.
inline void expect_module_gradients(Module& module, Tensor input, std::uint64_t seed = 17,
                                    double eps = 1e-2, double tolerance = 2e-3) {
  Generator generator(seed);
  Tensor r = random_tensor(module.forward(input).shape(), generator);
  auto objective = [&] { return weighted_sum(module.forward(input), r); };
  module.zero_grad();
  module.forward(input);
  Tensor grad_input = module.backward(r);
  const bool differentiable_input = input.dtype() == DType::float32;
  if (differentiable_input) {
    ASSERT_TRUE(grad_input.defined());
    grad_input = grad_input.clone();
  }
  for (Parameter* param : module.parameters()) {
    ASSERT_TRUE(param->has_grad) << param->name;
    expect_matches_differences(param->value, param->grad.clone(), objective, param->name, eps,
                               tolerance);
  }
  if (differentiable_input) {
    expect_matches_differences(input, grad_input, objective, "input", eps, tolerance);
  }
}

}  // namespace ddp::nn::testing
