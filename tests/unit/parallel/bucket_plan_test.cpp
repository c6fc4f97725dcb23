// Bucket assignment: reverse registration order, caps as PyTorch applies them.
#include <gtest/gtest.h>

#include "ddp/core/error.hpp"
#include "ddp/parallel/bucket_plan.hpp"

namespace ddp::parallel {
namespace {

std::vector<std::vector<std::size_t>> members(const BucketPlan& plan) {
  std::vector<std::vector<std::size_t>> out;
  for (const Bucket& bucket : plan.buckets) {
    out.emplace_back();
    for (const BucketEntry& entry : bucket.entries) out.back().push_back(entry.parameter);
  }
  return out;
}

TEST(BucketPlan, ReverseOrderFirstCapThenCap) {
  // Element counts of parameters 0..5, 4 bytes each: first cap 40 B, then 100 B.
  const std::vector<std::int64_t> numels{10, 5, 20, 3, 8, 2};
  BucketPlan plan =
      plan_buckets(numels, 4, {.first_bucket_cap_bytes = 40, .bucket_cap_bytes = 100});
  // 5,4 = 40 B closes the first; 3,2 = 92 B stays open until 1 makes it 112 B; 0 is left over.
  EXPECT_EQ(members(plan), (std::vector<std::vector<std::size_t>>{{5, 4}, {3, 2, 1}, {0}}));
  EXPECT_EQ(plan.bucket_of, (std::vector<std::size_t>{2, 1, 1, 1, 0, 0}));
  EXPECT_EQ(plan.buckets[1].numel, 28);
  EXPECT_EQ(plan.buckets[1].entries[1].offset, 3);  // parameter 2 after parameter 3's 3 elements
  EXPECT_EQ(plan.buckets[1].entries[2].offset, 23);
}

TEST(BucketPlan, ParameterLargerThanTheCapEndsItsBucket) {
  BucketPlan plan =
      plan_buckets({4, 1000, 4}, 4, {.first_bucket_cap_bytes = 64, .bucket_cap_bytes = 64});
  EXPECT_EQ(members(plan), (std::vector<std::vector<std::size_t>>{{2, 1}, {0}}));
  EXPECT_EQ(plan.buckets[0].numel, 1004);
}

TEST(BucketPlan, EverythingFitsInOneBucketAndNoParametersGiveNone) {
  EXPECT_EQ(plan_buckets({3, 4}, 4, {}).buckets.size(), 1u);
  EXPECT_TRUE(plan_buckets({}, 4, {}).buckets.empty());
  EXPECT_THROW(plan_buckets({1}, 4, {.first_bucket_cap_bytes = 0}), InvalidArgument);
}

}  // namespace
}  // namespace ddp::parallel
