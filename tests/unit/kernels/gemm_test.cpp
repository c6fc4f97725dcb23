#include "ddp/kernels/gemm.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "ddp/core/random.hpp"
#include "ddp/kernels/threads.hpp"

namespace ddp::kernels {
namespace {

Tensor random_matrix(std::int64_t rows, std::int64_t cols, Generator& generator) {
  Tensor t = Tensor::empty({rows, cols});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = generator.uniform(-1, 1);
  return t;
}

// op(X)[i, j] of a row-major matrix.
float at(const Tensor& x, bool transposed, std::int64_t i, std::int64_t j) {
  const std::int64_t cols = x.size(1);
  return transposed ? x.data<float>()[j * cols + i] : x.data<float>()[i * cols + j];
}

TEST(Gemm, AllFourTransposeCombinationsMatchALoop) {
  Generator generator(5);
  const std::int64_t m = 7, n = 5, k = 9;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Tensor a = ta ? random_matrix(k, m, generator) : random_matrix(m, k, generator);
      Tensor b = tb ? random_matrix(n, k, generator) : random_matrix(k, n, generator);
      Tensor c = random_matrix(m, n, generator);
      Tensor c0 = c.clone();
      gemm(a, ta ? Transpose::yes : Transpose::no, b, tb ? Transpose::yes : Transpose::no, c, 2.0f,
           0.5f);
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
          double expected = 0.5 * c0.data<float>()[i * n + j];
          for (std::int64_t p = 0; p < k; ++p) expected += 2.0 * at(a, ta, i, p) * at(b, tb, p, j);
          EXPECT_NEAR(c.data<float>()[i * n + j], expected, 1e-5) << ta << tb << i << j;
        }
      }
    }
  }
}

TEST(Gemm, EmptyInnerDimensionScalesOrClearsC) {
  Tensor a = Tensor::empty({3, 0});
  Tensor b = Tensor::empty({0, 2});
  Tensor c = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  gemm(a, Transpose::no, b, Transpose::no, c, 1.0f, 2.0f);
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
  gemm(a, Transpose::no, b, Transpose::no, c, 1.0f, 0.0f);
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>(6, 0.0f)));
  Tensor none = Tensor::empty({0, 2});
  gemm(Tensor::empty({0, 4}), Transpose::no, Tensor::empty({4, 2}), Transpose::no, none);
}

TEST(Gemm, MismatchedShapesNameThemInTheError) {
  Tensor a = Tensor::empty({2, 3});
  Tensor c = Tensor::empty({2, 2});
  try {
    gemm(a, Transpose::no, a, Transpose::no, c);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("[2, 3]"), std::string::npos) << error.what();
  }
}

TEST(GemmBatched, EachMatrixIsItsOwnGemm) {
  Generator generator(6);
  const std::int64_t batch = 3, m = 4, n = 5, k = 6;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Tensor a = random_matrix(batch * m, k, generator)
                     .reshape(ta ? Shape{batch, k, m} : Shape{batch, m, k});
      Tensor b = random_matrix(batch * k, n, generator)
                     .reshape(tb ? Shape{batch, n, k} : Shape{batch, k, n});
      Tensor c = random_matrix(batch * m, n, generator).reshape({batch, m, n});
      Tensor expected = c.clone();
      gemm_batched(a, ta ? Transpose::yes : Transpose::no, b, tb ? Transpose::yes : Transpose::no,
                   c, 0.5f, 2.0f);
      for (std::int64_t i = 0; i < batch; ++i) {
        Tensor one = expected.view(i * m * n, {m, n});
        gemm(a.view(i * m * k, {a.size(1), a.size(2)}), ta ? Transpose::yes : Transpose::no,
             b.view(i * k * n, {b.size(1), b.size(2)}), tb ? Transpose::yes : Transpose::no, one,
             0.5f, 2.0f);
      }
      EXPECT_EQ(c.to_vector<float>(), expected.to_vector<float>()) << ta << tb;
    }
  }
}

TEST(GemmBatched, EmptyBatchAndMismatchedBatchSizes) {
  Tensor none = Tensor::empty({0, 2, 2});
  gemm_batched(Tensor::empty({0, 2, 3}), Transpose::no, Tensor::empty({0, 3, 2}), Transpose::no,
               none);
  Tensor c = Tensor::empty({2, 2, 2});
  EXPECT_THROW(gemm_batched(Tensor::empty({3, 2, 3}), Transpose::no, Tensor::empty({2, 3, 2}),
                            Transpose::no, c),
               Error);
}

TEST(GemmRecorder, RecordsTheCallsMadeWhileAlive) {
  Tensor a = Tensor::zeros({4, 3});
  Tensor b = Tensor::zeros({5, 3});
  Tensor c = Tensor::zeros({4, 5});
  gemm(a, Transpose::no, b, Transpose::yes, c);
  std::vector<GemmCall> calls;
  {
    GemmRecorder recorder;
    gemm(a, Transpose::no, b, Transpose::yes, c, 1.0f, 1.0f);
    calls = recorder.calls();
  }
  gemm(a, Transpose::no, b, Transpose::yes, c);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].m, 4);
  EXPECT_EQ(calls[0].n, 5);
  EXPECT_EQ(calls[0].k, 3);
  EXPECT_EQ(calls[0].trans_b, Transpose::yes);
  EXPECT_EQ(calls[0].beta, 1.0f);
  EXPECT_EQ(calls[0].batch, 1);
}

TEST(GemmRecorder, RecordsABatchedCallOnceWithItsBatch) {
  Tensor a = Tensor::zeros({3, 4, 2});
  Tensor c = Tensor::zeros({3, 4, 4});
  GemmRecorder recorder;
  gemm_batched(a, Transpose::no, a, Transpose::yes, c);
  ASSERT_EQ(recorder.calls().size(), 1u);
  EXPECT_EQ(recorder.calls()[0].batch, 3);
  EXPECT_EQ(recorder.calls()[0].k, 2);
}

TEST(ComputeThreads, DefaultSharesTheCoresAmongLocalRanksUnlessDdpThreadsIsSet) {
  unsetenv("DDP_THREADS");
  EXPECT_GE(default_compute_threads(1), 1);
  EXPECT_EQ(default_compute_threads(100000), 1);
  setenv("DDP_THREADS", "3", 1);
  EXPECT_EQ(default_compute_threads(2), 3);
  setenv("DDP_THREADS", "0x", 1);
  EXPECT_THROW(default_compute_threads(1), InvalidArgument);
  unsetenv("DDP_THREADS");
  EXPECT_THROW(set_compute_threads(0), InvalidArgument);
  set_compute_threads(1);
  EXPECT_EQ(compute_threads(), 1);
}

TEST(ComputeThreads, DefaultIsAtMostTheCoresTheProcessIsBoundTo) {
  unsetenv("DDP_THREADS");
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int bound_to_one = default_compute_threads(1);
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(bound_to_one, 1);
  EXPECT_EQ(default_compute_threads(1),
            std::min<int>(CPU_COUNT(&all), static_cast<int>(std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace ddp::kernels
