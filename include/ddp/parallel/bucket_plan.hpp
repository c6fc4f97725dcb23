// BucketPlan: which parameters share a gradient bucket, and where each gradient lives in its
// bucket's flat buffer. Pure arithmetic on sizes, so it is testable without MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ddp::parallel {

struct BucketLimits {
  // The first bucket to fill (the last layers' gradients, ready first) is small, so that its
  // all-reduce starts early in backward; PyTorch uses 1 MiB.
  std::int64_t first_bucket_cap_bytes = std::int64_t{1} << 20;
  // The others: larger means fewer, more efficient all-reduces but a later start for each and a
  // longer tail after backward ends; PyTorch's default is 25 MiB.
  std::int64_t bucket_cap_bytes = std::int64_t{25} << 20;
};

struct BucketEntry {
  std::size_t parameter = 0;  // its index in the module's parameters()
  std::int64_t offset = 0;    // its first element in the bucket's flat buffer
  std::int64_t numel = 0;
};

struct Bucket {
  std::vector<BucketEntry> entries;  // in the order backward makes them ready
  std::int64_t numel = 0;            // the flat buffer's length
};

struct BucketPlan {
  std::vector<Bucket> buckets;         // in launch order: bucket 0 holds the last parameters
  std::vector<std::size_t> bucket_of;  // per parameter, its bucket
};

// Packs parameters (element counts in registration order, bytes_per_element each) in reverse
// order, as backward produces their gradients. A bucket closes once it holds at least its cap, as
// PyTorch's does: a bucket exceeds the cap only by its last parameter, and a parameter larger
// than the cap ends the bucket it lands in. Empty parameters join a bucket but add nothing.
BucketPlan plan_buckets(const std::vector<std::int64_t>& numels, std::int64_t bytes_per_element,
                        const BucketLimits& limits);

}  // namespace ddp::parallel
