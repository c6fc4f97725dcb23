#include "ddp/parallel/bucket_plan.hpp"

#include "ddp/core/error.hpp"

namespace ddp::parallel {

BucketPlan plan_buckets(const std::vector<std::int64_t>& numels, std::int64_t bytes_per_element,
                        const BucketLimits& limits) {
  DDP_CHECK_ARG(limits.first_bucket_cap_bytes > 0 && limits.bucket_cap_bytes > 0,
                "bucket caps must be positive, got first " << limits.first_bucket_cap_bytes
                                                           << " B and " << limits.bucket_cap_bytes
                                                           << " B");
  DDP_CHECK(bytes_per_element > 0, "plan_buckets: bytes_per_element must be positive");
  BucketPlan plan;
  plan.bucket_of.resize(numels.size());
  Bucket current;
  std::int64_t cap = limits.first_bucket_cap_bytes;
  for (std::size_t i = numels.size(); i-- > 0;) {
    DDP_CHECK(numels[i] >= 0,
              "plan_buckets: parameter " << i << " has " << numels[i] << " elements");
    current.entries.push_back({i, current.numel, numels[i]});
    current.numel += numels[i];
    plan.bucket_of[i] = plan.buckets.size();
    if (current.numel * bytes_per_element >= cap) {
      plan.buckets.push_back(std::move(current));
      current = Bucket{};
      cap = limits.bucket_cap_bytes;
    }
  }
  if (!current.entries.empty()) plan.buckets.push_back(std::move(current));
  return plan;
}

}  // namespace ddp::parallel
