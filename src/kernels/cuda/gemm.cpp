// GEMM on CUDA tensors through cuBLAS, with one handle per device bound to that device's stream.
#include <cublas_v2.h>

#include <climits>
#include <mutex>
#include <vector>

#include "../checks.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/tf32.hpp"

#define DDP_CUBLAS_CHECK(call)                                                          \
  do {                                                                                  \
    cublasStatus_t ddp_cublas_status_ = (call);                                         \
    DDP_CHECK(ddp_cublas_status_ == CUBLAS_STATUS_SUCCESS,                              \
              #call << " failed: " << cublasGetStatusString(ddp_cublas_status_) << " (" \
                    << static_cast<int>(ddp_cublas_status_) << ")");                    \
  } while (false)

namespace ddp::kernels::cuda {
namespace {

struct Handles {
  std::mutex mutex;
  std::vector<cublasHandle_t> by_device;  // nullptr until first used
};

// A device's cuBLAS handle, created on first use and never destroyed, like the streams: a GEMM
// may run during static destruction, after the runtime a destructor would need is gone.
cublasHandle_t handle(int device) {
  check_device(device);
  static Handles* all = new Handles;
  std::lock_guard lock(all->mutex);
  all->by_device.resize(static_cast<std::size_t>(cuda_device_count()), nullptr);
  cublasHandle_t& h = all->by_device[static_cast<std::size_t>(device)];
  if (h == nullptr) {
    DeviceGuard guard(device);
    DDP_CUBLAS_CHECK(cublasCreate(&h));
    DDP_CUBLAS_CHECK(cublasSetStream(h, stream(device)));
  }
  return h;
}

int as_int(std::int64_t value, const char* what) {
  DDP_CHECK(value <= INT_MAX, "gemm: " << what << " " << value << " is past cuBLAS's int range");
  return static_cast<int>(value);
}

cublasOperation_t op(Transpose trans) {
  return trans == Transpose::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
}

}  // namespace

void gemm(const GemmCall& call, const Tensor& a, const Tensor& b, Tensor& c) {
  const Device device = c.device();
  const float* a_data = detail::data_on<float>(a, device, "gemm");
  const float* b_data = detail::data_on<float>(b, device, "gemm");
  float* c_data = detail::data_on<float>(c, device, "gemm");
  const cublasComputeType_t compute =
      allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  DeviceGuard guard(device.index);
  // cuBLAS is column-major, and a row-major matrix is its transpose in column-major: so compute
  // C^T = op(B)^T op(A)^T, which is C in row-major, by passing B first.
  DDP_CUBLAS_CHECK(cublasGemmEx(handle(device.index), op(call.trans_b), op(call.trans_a),
                                as_int(call.n, "n"), as_int(call.m, "m"), as_int(call.k, "k"),
                                &call.alpha, b_data, CUDA_R_32F, as_int(b.size(1), "ldb"), a_data,
                                CUDA_R_32F, as_int(a.size(1), "lda"), &call.beta, c_data,
                                CUDA_R_32F, as_int(call.n, "ldc"), compute, CUBLAS_GEMM_DEFAULT));
}

void gemm_batched(const GemmCall& call, const Tensor& a, const Tensor& b, Tensor& c) {
  const Device device = c.device();
  const float* a_data = detail::data_on<float>(a, device, "gemm_batched");
  const float* b_data = detail::data_on<float>(b, device, "gemm_batched");
  float* c_data = detail::data_on<float>(c, device, "gemm_batched");
  const cublasComputeType_t compute =
      allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  DeviceGuard guard(device.index);
  // Row-major as in gemm: C[i]^T = op(B[i])^T op(A[i])^T, B first.
  DDP_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle(device.index), op(call.trans_b), op(call.trans_a), as_int(call.n, "n"),
      as_int(call.m, "m"), as_int(call.k, "k"), &call.alpha, b_data, CUDA_R_32F,
      as_int(b.size(2), "ldb"), b.size(1) * b.size(2), a_data, CUDA_R_32F, as_int(a.size(2), "lda"),
      a.size(1) * a.size(2), &call.beta, c_data, CUDA_R_32F, as_int(call.n, "ldc"), call.m * call.n,
      as_int(call.batch, "batch"), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace ddp::kernels::cuda
