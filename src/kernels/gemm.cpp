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

// C = beta * C, the BLAS contract for an empty inner dimension, done here so no BLAS sees a zero
// leading dimension; beta == 0 means "overwrite".
void scale_for_empty_inner(Tensor& c, float beta) {
  if (beta == 0.0f) {
    c.zero_();
  } else {
    scale_(c, beta);
  }
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
  const GemmCall call{trans_a, trans_b, m, n, k, alpha, beta, 1};
  if (active_recorder != nullptr) active_recorder->calls_.push_back(call);
  if (m == 0 || n == 0) return;
  if (k == 0) return scale_for_empty_inner(c, beta);
  if (c.device().is_cuda()) return cuda::gemm(call, a, b, c);
  const float* a_data = detail::cpu_floats(a, "gemm");
  const float* b_data = detail::cpu_floats(b, "gemm");
  float* c_data = detail::cpu_floats(c, "gemm");
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a_data,
              static_cast<int>(a.size(1)), b_data, static_cast<int>(b.size(1)), beta, c_data,
              static_cast<int>(n));
}

void gemm_batched(const Tensor& a, Transpose trans_a, const Tensor& b, Transpose trans_b, Tensor& c,
                  float alpha, float beta) {
  DDP_CHECK(a.ndim() == 3 && b.ndim() == 3 && c.ndim() == 3 && a.size(0) == c.size(0) &&
                b.size(0) == c.size(0),
            "gemm_batched needs 3-D tensors of one batch size, got A"
                << ddp::to_string(a.shape()) << " B" << ddp::to_string(b.shape()) << " C"
                << ddp::to_string(c.shape()));
  const bool ta = trans_a == Transpose::yes;
  const bool tb = trans_b == Transpose::yes;
  const std::int64_t batch = c.size(0);
  const std::int64_t m = ta ? a.size(2) : a.size(1);
  const std::int64_t k = ta ? a.size(1) : a.size(2);
  const std::int64_t n = tb ? b.size(1) : b.size(2);
  const std::int64_t k_b = tb ? b.size(2) : b.size(1);
  DDP_CHECK(k == k_b && c.size(1) == m && c.size(2) == n, "gemm_batched shapes do not match: A"
                                                              << describe(a, trans_a) << " B"
                                                              << describe(b, trans_b) << " C"
                                                              << ddp::to_string(c.shape()));
  detail::check_on(a, c.device(), "gemm_batched");
  detail::check_on(b, c.device(), "gemm_batched");
  const GemmCall call{trans_a, trans_b, m, n, k, alpha, beta, batch};
  if (active_recorder != nullptr) active_recorder->calls_.push_back(call);
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) return scale_for_empty_inner(c, beta);
  if (c.device().is_cuda()) return cuda::gemm_batched(call, a, b, c);
  const float* a_data = detail::cpu_floats(a, "gemm_batched");
  const float* b_data = detail::cpu_floats(b, "gemm_batched");
  float* c_data = detail::cpu_floats(c, "gemm_batched");
  const std::int64_t a_stride = a.size(1) * a.size(2);
  const std::int64_t b_stride = b.size(1) * b.size(2);
  for (std::int64_t i = 0; i < batch; ++i) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
                a_data + i * a_stride, static_cast<int>(a.size(2)), b_data + i * b_stride,
                static_cast<int>(b.size(2)), beta, c_data + i * m * n, static_cast<int>(n));
  }
}

}  // namespace ddp::kernels
