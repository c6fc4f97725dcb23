// cuBLAS behind kernels::gemm against the CPU's OpenBLAS: every transpose combination, beta 0
// (C not read) and 1, empty and odd sizes, TF32 off and on.
#include <limits>
#include <string>
#include <tuple>

#include "compare.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/tf32.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_error_naming_both_devices;
using gpu_test::kGpu;
using kernels::Transpose;

struct Sizes {
  std::int64_t m, n, k;
};

// Sets the TF32 setting for a scope, and back to off (the default) after.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool allow) { kernels::set_allow_tf32(allow); }
  ~Tf32Scope() { kernels::set_allow_tf32(false); }
};

using GemmCase = std::tuple<bool, bool, float, Sizes>;  // trans_a, trans_b, beta, sizes

// "NT_beta1_17x33x65": the transposes of A and B, beta, m x n x k.
std::string case_name(const GemmCase& gemm_case) {
  const auto [ta, tb, beta, s] = gemm_case;
  return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + "_beta" +
         std::to_string(static_cast<int>(beta)) + "_" + std::to_string(s.m) + "x" +
         std::to_string(s.n) + "x" + std::to_string(s.k);
}

class CudaGemm : public GpuTest, public ::testing::WithParamInterface<GemmCase> {
 protected:
  // C from A and B on both devices; rel is relative to the largest |C| (at least 1), the scale at
  // which a reordered fp32 sum of k products errs.
  void check(bool tf32, double rel) {
    const auto [ta, tb, beta, s] = GetParam();
    Tf32Scope scope(tf32);
    const Tensor a = gpu_test::random_tensor(ta ? Shape{s.k, s.m} : Shape{s.m, s.k}, 1);
    const Tensor b = gpu_test::random_tensor(tb ? Shape{s.n, s.k} : Shape{s.k, s.n}, 2);
    Tensor c = gpu_test::random_tensor({s.m, s.n}, 3);
    Tensor gpu_c = c.to(kGpu);
    if (beta == 0.0f) {
      // beta 0 must overwrite C without reading it: NaN there must not show through.
      std::vector<float> nan(static_cast<std::size_t>(s.m * s.n),
                             std::numeric_limits<float>::quiet_NaN());
      gpu_c.copy_(Tensor::from_vector(nan, {s.m, s.n}));
    }
    const Transpose trans_a = ta ? Transpose::yes : Transpose::no;
    const Transpose trans_b = tb ? Transpose::yes : Transpose::no;
    kernels::gemm(a, trans_a, b, trans_b, c, 0.5f, beta);
    kernels::gemm(a.to(kGpu), trans_a, b.to(kGpu), trans_b, gpu_c, 0.5f, beta);
    gpu_test::expect_close(gpu_c, c, 0.0, rel * std::max(1.0, gpu_test::max_abs(c)));
  }
};

TEST_P(CudaGemm, Fp32MatchesTheCpu) {
  check(false, 1e-5);
}

// TF32 rounds A and B to 10 mantissa bits (relative 2^-11 each).
TEST_P(CudaGemm, Tf32IsCloseToTheCpu) {
  check(true, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(
    AllTransposes, CudaGemm,
    ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(0.0f, 1.0f),
                       ::testing::Values(Sizes{0, 5, 7}, Sizes{6, 0, 7}, Sizes{6, 5, 0},
                                         Sizes{1, 1, 1}, Sizes{17, 33, 65}, Sizes{128, 96, 257})),
    [](const ::testing::TestParamInfo<GemmCase>& param_info) {
      return case_name(param_info.param);
    });

TEST_F(GpuTest, GemmRecorderSeesCudaCalls) {
  const Tensor a = Tensor::zeros({4, 3}, DType::float32, kGpu);
  const Tensor b = Tensor::zeros({5, 3}, DType::float32, kGpu);
  Tensor c = Tensor::zeros({4, 5}, DType::float32, kGpu);
  kernels::GemmRecorder recorder;
  kernels::gemm(a, Transpose::no, b, Transpose::yes, c);
  ASSERT_EQ(recorder.calls().size(), 1u);
  EXPECT_EQ(recorder.calls()[0].m, 4);
  EXPECT_EQ(recorder.calls()[0].n, 5);
  EXPECT_EQ(recorder.calls()[0].k, 3);
  EXPECT_EQ(recorder.calls()[0].trans_b, Transpose::yes);
}

TEST_F(GpuTest, GemmWithTensorsOnTwoDevicesNamesBoth) {
  const Tensor a = Tensor::zeros({4, 3});
  const Tensor b = Tensor::zeros({3, 5}, DType::float32, kGpu);
  Tensor c = Tensor::zeros({4, 5}, DType::float32, kGpu);
  expect_error_naming_both_devices([&] { kernels::gemm(a, Transpose::no, b, Transpose::no, c); });
}

}  // namespace
}  // namespace ddp
