// The transformer's kernels and layers on cuda:0 against the CPU: batched GEMMs, the causal
// softmax and the softmax's backward, LayerNorm and causal self-attention (forward, backward and
// every gradient, also for an empty batch, one token and a layer called twice).
#include <cstdint>
#include <vector>

#include "compare.hpp"
#include "ddp/kernels/gemm.hpp"
#include "ddp/kernels/softmax.hpp"
#include "ddp/nn/causal_self_attention.hpp"
#include "ddp/nn/layer_norm.hpp"
#include "gpu_test.hpp"

namespace ddp {
namespace {

using gpu_test::expect_close;
using gpu_test::kGpu;
using gpu_test::random_tensor;
using kernels::Transpose;

using CudaTransformer = GpuTest;

TEST_F(CudaTransformer, BatchedGemmMatchesTheCpu) {
  const std::int64_t batch = 6, m = 17, n = 9, k = 33;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::to_string(ta) + std::to_string(tb));
      const Tensor a = random_tensor(ta ? Shape{batch, k, m} : Shape{batch, m, k}, 1);
      const Tensor b = random_tensor(tb ? Shape{batch, n, k} : Shape{batch, k, n}, 2);
      Tensor c = random_tensor({batch, m, n}, 3);
      Tensor gpu_c = c.to(kGpu);
      const Transpose op_a = ta ? Transpose::yes : Transpose::no;
      const Transpose op_b = tb ? Transpose::yes : Transpose::no;
      kernels::gemm_batched(a, op_a, b, op_b, c, 0.5f, 1.0f);
      kernels::gemm_batched(a.to(kGpu), op_a, b.to(kGpu), op_b, gpu_c, 0.5f, 1.0f);
      expect_close(gpu_c, c, 1e-5, 1e-5);
    }
  }
}

TEST_F(CudaTransformer, CausalSoftmaxAndItsBackwardMatchTheCpu) {
  for (std::int64_t t : {1, 7, 70}) {
    SCOPED_TRACE(t);
    const Tensor x = random_tensor({5, t, t}, 4, -6.0f, 6.0f);
    Tensor y = Tensor::empty({5, t, t});
    kernels::causal_softmax(x, y);
    Tensor gpu_y = x.to(kGpu);  // in place: y may be x
    kernels::causal_softmax(gpu_y, gpu_y);
    expect_close(gpu_y, y, 1e-6, 1e-7);
    const Tensor dy = random_tensor({5 * t, t}, 5);
    Tensor dx = Tensor::empty({5 * t, t});
    kernels::softmax_backward_rows(y.reshape({5 * t, t}), dy, dx);
    Tensor gpu_dx = dy.to(kGpu);  // in place: dx may be dy
    kernels::softmax_backward_rows(y.reshape({5 * t, t}).to(kGpu), gpu_dx, gpu_dx);
    expect_close(gpu_dx, dx, 1e-5, 1e-6);
  }
}

TEST_F(CudaTransformer, LayerNormMatchesTheCpu) {
  for (const Shape& shape : {Shape{4, 7, 33}, Shape{300, 128}, Shape{0, 5, 8}}) {
    SCOPED_TRACE(to_string(shape));
    const std::int64_t dim = shape.back();
    nn::LayerNorm cpu(dim), gpu(dim);
    for (nn::LayerNorm* layer : {&cpu, &gpu}) {
      layer->weight().value.copy_(random_tensor({dim}, 6, 0.5f, 1.5f));
      layer->bias().value.copy_(random_tensor({dim}, 7));
    }
    gpu_test::expect_same_step(cpu, gpu, random_tensor(shape, 8, -3.0f, 5.0f), shape);
  }
}

TEST_F(CudaTransformer, CausalSelfAttentionMatchesTheCpu) {
  struct Config {
    std::int64_t dim, heads;
    Shape input;
  };
  for (const Config& config : {Config{32, 4, {3, 17, 32}}, Config{8, 2, {2, 1, 8}},
                               Config{8, 2, {0, 3, 8}}, Config{128, 4, {2, 64, 128}}}) {
    SCOPED_TRACE(to_string(config.input));
    Generator cpu_init(9), gpu_init(9);
    nn::CausalSelfAttention cpu(config.dim, config.heads, cpu_init);
    nn::CausalSelfAttention gpu(config.dim, config.heads, gpu_init);
    gpu_test::expect_same_step(cpu, gpu, random_tensor(config.input, 10), config.input, 1e-4, 1e-5);
  }
}

// y = attn(attn(x)): two call frames on the GPU as on the CPU.
class AttentionTwice : public nn::Module {
 public:
  explicit AttentionTwice(std::uint64_t seed) : init_(seed), attn_(16, 2, init_) {
    register_module("attn", attn_);
  }

 protected:
  Tensor forward_impl(const Tensor& x) override { return attn_.forward(attn_.forward(x)); }
  Tensor backward_impl(const Tensor& dy) override { return attn_.backward(attn_.backward(dy)); }

 private:
  Generator init_;
  nn::CausalSelfAttention attn_;
};

TEST_F(CudaTransformer, AttentionCalledTwiceMatchesTheCpu) {
  AttentionTwice cpu(11), gpu(11);
  gpu_test::expect_same_step(cpu, gpu, random_tensor({2, 9, 16}, 12), {2, 9, 16}, 1e-4, 1e-5);
}

}  // namespace
}  // namespace ddp
