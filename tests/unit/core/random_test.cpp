#include "ddp/core/random.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/core/random_jump.hpp"

namespace ddp {
namespace {

TEST(Generator, SameSeedSameStreamDifferentSeedDifferentStream) {
  Generator a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
}

TEST(Generator, StateRoundTripContinuesTheSequence) {
  Generator a(3);
  a.next_u64();
  Generator b(99);
  b.set_state(a.state());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.uniform_int(10), b.uniform_int(10));
}

TEST(Generator, DistributionsHaveTheRightMoments) {
  Generator g(1);
  const int n = 200000;
  double sum = 0, sum_sq = 0, uniform_sum = 0;
  std::vector<int> counts(5, 0);
  for (int i = 0; i < n; ++i) {
    double x = g.normal();
    sum += x;
    sum_sq += x * x;
    float u = g.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    uniform_sum += u;
    counts[g.uniform_int(5)]++;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.02);
  EXPECT_NEAR(uniform_sum / n, 0.5, 0.01);
  for (int c : counts) EXPECT_NEAR(c, n / 5, n / 100);
}

// The oracle is the plain sequence: discard(n) must land where n calls of next_u64 do.
TEST(Generator, DiscardLandsWhereTheDrawsWould) {
  for (std::uint64_t draws : {0ULL, 1ULL, 2ULL, 63ULL, 64ULL, 65ULL, 1000ULL, 123457ULL}) {
    Generator stepped(11), jumped(11);
    for (std::uint64_t i = 0; i < draws; ++i) stepped.next_u64();
    jumped.discard(draws);
    EXPECT_EQ(jumped.state(), stepped.state()) << draws << " draws";
    EXPECT_EQ(jumped.next_u64(), stepped.next_u64()) << draws << " draws";
  }
}

TEST(Generator, JumpMatrixIsTwoToThePowerDraws) {
  Generator start(5);
  for (int power : {0, 3, 10}) {
    Generator stepped = start;
    for (int i = 0; i < (1 << power); ++i) stepped.next_u64();
    EXPECT_EQ(jumped(start.state(), jump_matrix(power)), stepped.state()) << "2^" << power;
  }
  EXPECT_THROW(jump_matrix(kJumpPowers), Error);
}

}  // namespace
}  // namespace ddp
