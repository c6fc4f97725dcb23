// Matrix multiply on tensors, C = alpha * op(A) op(B) + beta * C, and a recorder of the calls made,
// so that a benchmark can time exactly the GEMMs of a training step on their own.
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

enum class Transpose : bool { no = false, yes = true };

// A, B and C are 2-D float32 tensors, row-major; op(A) is [m, k], op(B) [k, n], C [m, n].
// Transposes are read in place by the BLAS (no copies). beta == 0 overwrites C without reading it,
// so C may hold garbage then. Any of m, n, k may be 0.
void gemm(const Tensor& a, Transpose trans_a, const Tensor& b, Transpose trans_b, Tensor& c,
          float alpha = 1.0f, float beta = 0.0f);

// batch independent GEMMs C[i] = alpha * op(A[i]) op(B[i]) + beta * C[i] over 3-D tensors A
// [batch, ., .], B [batch, ., .], C [batch, m, n], each matrix contiguous after the one before
// (attention's heads): one strided-batched call on the GPU. batch may be 0.
void gemm_batched(const Tensor& a, Transpose trans_a, const Tensor& b, Transpose trans_b, Tensor& c,
                  float alpha = 1.0f, float beta = 0.0f);

// One call to gemm (batch 1) or gemm_batched, as the BLAS saw it.
struct GemmCall {
  Transpose trans_a = Transpose::no;
  Transpose trans_b = Transpose::no;
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  std::int64_t batch = 1;
};

// While one is alive, every gemm and gemm_batched on this thread is appended to calls(). Not
// nestable.
class GemmRecorder {
 public:
  GemmRecorder();
  ~GemmRecorder();
  GemmRecorder(const GemmRecorder&) = delete;
  GemmRecorder& operator=(const GemmRecorder&) = delete;

  const std::vector<GemmCall>& calls() const { return calls_; }

 private:
  friend void gemm(const Tensor&, Transpose, const Tensor&, Transpose, Tensor&, float, float);
  friend void gemm_batched(const Tensor&, Transpose, const Tensor&, Transpose, Tensor&, float,
                           float);
  std::vector<GemmCall> calls_;
};

}  // namespace ddp::kernels
