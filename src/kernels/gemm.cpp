#include "ddp/kernels/gemm.hpp"

#include <cblas.h>

#include "checks.hpp"
#include "cuda/cuda_kernels.hpp"
#include "ddp/core/error.hpp"
#include "ddp/kernels/pointwise.hpp"

namespace ddp::kernels {
namespace {

thread_local GemmRecorder* active_recorder = nullptr;

std::string describe(const Tensor& t, Transpose trans) {
  return ddp::to_string(t.shape()) + (trans == Transpose::yes ? "^T" : "");
}

}  // namespace

GemmRecorder::GemmRecorder() {
  DDP_CHECK(active_recorder == nullptr, "a GemmRecorder is already recording on this thread");
  active_recorder = this;
}

GemmRecorder::~GemmRecorder() {
  active_recorder = nullptr;
}

void gemm(const Tensor& a, Transpose trans_a, const Tensor& b, Transpose trans_b, Tensor& c,
          float alpha, float beta) {
  DDP_CHECK(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2,
            "gemm needs 2-D tensors, got A" << ddp::to_string(a.shape()) << " B"
                                            << ddp::to_string(b.shape()) << " C"
                                            << ddp::to_string(c.shape()));
  const bool ta = trans_a == Transpose::yes;
  const bool tb = trans_b == Transpose::yes;
  const std::int64_t m = ta ? a.size(1) : a.size(0);
  const std::int64_t k = ta ? a.size(0) : a.size(1);
  const std::int64_t n = tb ? b.size(0) : b.size(1);
  const std::int64_t k_b = tb ? b.size(1) : b.size(0);
  DDP_CHECK(k == k_b && c.size(0) == m && c.size(1) == n,
            "gemm shapes do not match: A" << describe(a, trans_a) << " B" << describe(b, trans_b)
                                          << " C" << ddp::to_string(c.shape()));
  detail::check_on(a, c.device(), "gemm");
  detail::check_on(b, c.device(), "gemm");
  const GemmCall call{trans_a, trans_b, m, n, k, alpha, beta};
  if (active_recorder != nullptr) active_recorder->calls_.push_back(call);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // The BLAS contract for an empty inner dimension, done here so no BLAS sees a zero leading
    // dimension: C = beta * C, with beta == 0 meaning "overwrite".
    if (beta == 0.0f) {
      c.zero_();
    } else {
      scale_(c, beta);
    }
    return;
  }
  if (c.device().is_cuda()) return cuda::gemm(call, a, b, c);
  const float* a_data = detail::cpu_floats(a, "gemm");
  const float* b_data = detail::cpu_floats(b, "gemm");
  float* c_data = detail::cpu_floats(c, "gemm");
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a_data,
              static_cast<int>(a.size(1)), b_data, static_cast<int>(b.size(1)), beta, c_data,
              static_cast<int>(n));
}

}  // namespace ddp::kernels
