#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/data/distributed_sampler.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/shuffle.hpp"

namespace ddp::data {
namespace {

using Indices = std::vector<std::int64_t>;

std::vector<std::int64_t> chunk_sizes(std::int64_t batch, int world) {
  std::vector<std::int64_t> sizes;
  for (int r = 0; r < world; ++r) sizes.push_back(chunk_bounds(batch, world, r).size());
  return sizes;
}

TEST(ChunkBounds, MatchTorchChunkAndTheTutorialTables) {
  // torch.chunk(torch.arange(b), N) sizes, padded with 0 for the ranks torch.chunk leaves out.
  EXPECT_EQ(chunk_sizes(30, 4), (Indices{8, 8, 8, 6}));
  EXPECT_EQ(chunk_sizes(10, 4), (Indices{3, 3, 3, 1}));
  EXPECT_EQ(chunk_sizes(10, 8), (Indices{2, 2, 2, 2, 2, 0, 0, 0}));
  EXPECT_EQ(chunk_sizes(30, 8), (Indices{4, 4, 4, 4, 4, 4, 4, 2}));
  EXPECT_EQ(chunk_sizes(10, 3), (Indices{4, 4, 2}));
  EXPECT_EQ(chunk_sizes(30, 2), (Indices{15, 15}));
  EXPECT_EQ(chunk_sizes(10, 2), (Indices{5, 5}));
  EXPECT_EQ(chunk_sizes(30, 3), (Indices{10, 10, 10}));
  EXPECT_EQ(chunk_sizes(5, 4), (Indices{2, 2, 1, 0}));
  EXPECT_EQ(chunk_sizes(9, 4), (Indices{3, 3, 3, 0}));
  EXPECT_EQ(chunk_sizes(1, 4), (Indices{1, 0, 0, 0}));
  EXPECT_EQ(chunk_sizes(64, 3), (Indices{22, 22, 20}));
  EXPECT_EQ(chunk_sizes(0, 3), (Indices{0, 0, 0}));
}

TEST(ChunkBounds, AreContiguousAndCoverTheBatch) {
  for (std::int64_t batch = 0; batch <= 70; ++batch) {
    for (int world = 1; world <= 9; ++world) {
      const std::int64_t chunk = (batch + world - 1) / world;
      std::int64_t expected_begin = 0;
      for (int r = 0; r < world; ++r) {
        const ChunkBounds bounds = chunk_bounds(batch, world, r);
        ASSERT_EQ(bounds.begin, expected_begin);
        ASSERT_LE(bounds.size(), chunk);
        // Only the last non-empty chunk may be short; every later one is empty.
        if (bounds.size() < chunk && bounds.end < batch) FAIL() << batch << " " << world;
        expected_begin = bounds.end;
      }
      ASSERT_EQ(expected_begin, batch);
    }
  }
}

TEST(EpochOrder, IsAPermutationReshuffledEachEpochAndReproducible) {
  const Indices zero = epoch_order(100, true, 5, 0);
  Indices sorted = zero;
  std::sort(sorted.begin(), sorted.end());
  Indices iota(100);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_EQ(zero, epoch_order(100, true, 5, 0));
  EXPECT_NE(zero, epoch_order(100, true, 5, 1));
  EXPECT_NE(zero, epoch_order(100, true, 6, 0));
  EXPECT_EQ(epoch_order(100, false, 5, 3), iota);
  EXPECT_TRUE(epoch_order(0, true, 5, 0).empty());
}

// Every rank's plans for one epoch, built as every rank would: its own sampler, its own rank.
std::vector<std::vector<BatchPlan>> plans_of_all_ranks(std::int64_t n,
                                                       const GlobalBatchOptions& options, int world,
                                                       std::int64_t epoch) {
  std::vector<std::vector<BatchPlan>> plans(static_cast<std::size_t>(world));
  for (int r = 0; r < world; ++r) {
    GlobalBatchSampler sampler(n, options, r, world);
    for (std::int64_t b = 0; b < sampler.batches_per_epoch(); ++b) {
      plans[static_cast<std::size_t>(r)].push_back(sampler.plan(epoch, b));
    }
  }
  return plans;
}

TEST(GlobalBatchSampler, PartitionsEveryGlobalBatchTheSameWayForAnyWorldSize) {
  int combinations = 0;
  for (std::int64_t n : {0, 1, 7, 10, 30, 64, 100, 101}) {
    for (std::int64_t batch_size : {1, 3, 10, 30, 64}) {
      for (bool drop_last : {false, true}) {
        for (bool shuffle : {false, true}) {
          const GlobalBatchOptions options{.global_batch_size = batch_size,
                                           .shuffle = shuffle,
                                           .seed = 11,
                                           .drop_last = drop_last};
          const std::int64_t batches =
              drop_last ? n / batch_size : (n + batch_size - 1) / batch_size;
          std::vector<Indices> epoch_orders;
          for (std::int64_t epoch : {0, 1}) {
            // The reference: one rank sees each whole global batch.
            const auto reference = plans_of_all_ranks(n, options, 1, epoch)[0];
            ASSERT_EQ(static_cast<std::int64_t>(reference.size()), batches);
            Indices order;
            for (const BatchPlan& plan : reference) {
              EXPECT_EQ(plan.global_n, static_cast<std::int64_t>(plan.indices.size()));
              order.insert(order.end(), plan.indices.begin(), plan.indices.end());
            }
            epoch_orders.push_back(order);
            // Disjoint and covering: n distinct samples, or all but the short last batch.
            Indices sorted = order;
            std::sort(sorted.begin(), sorted.end());
            EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
            EXPECT_EQ(static_cast<std::int64_t>(order.size()),
                      drop_last ? batches * batch_size : n);
            if (!drop_last && !sorted.empty()) {
              EXPECT_EQ(sorted.back(), n - 1);
            }
            if (!shuffle) {
              EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
            }

            for (int world : {2, 3, 4, 8}) {
              ++combinations;
              const auto plans = plans_of_all_ranks(n, options, world, epoch);
              for (std::int64_t b = 0; b < batches; ++b) {
                const BatchPlan& whole = reference[static_cast<std::size_t>(b)];
                Indices joined;
                for (int r = 0; r < world; ++r) {
                  const auto& ranks_plans = plans[static_cast<std::size_t>(r)];
                  ASSERT_EQ(static_cast<std::int64_t>(ranks_plans.size()), batches);
                  const BatchPlan& plan = ranks_plans[static_cast<std::size_t>(b)];
                  EXPECT_EQ(plan.global_n, whole.global_n);
                  EXPECT_EQ(plan.batch_index, b);
                  EXPECT_EQ(static_cast<std::int64_t>(plan.indices.size()),
                            chunk_bounds(whole.global_n, world, r).size());
                  joined.insert(joined.end(), plan.indices.begin(), plan.indices.end());
                }
                ASSERT_EQ(joined, whole.indices)
                    << "n " << n << " B " << batch_size << " N " << world;
              }
            }
          }
          if (shuffle && epoch_orders[0].size() >= 10) {
            EXPECT_NE(epoch_orders[0], epoch_orders[1]);
          }
          if (!shuffle) {
            EXPECT_EQ(epoch_orders[0], epoch_orders[1]);
          }
        }
      }
    }
  }
  EXPECT_EQ(combinations, 8 * 5 * 2 * 2 * 2 * 4);
}

TEST(GlobalBatchSampler, TheTutorialsHundredSamplesInBatchesOfThirty) {
  std::vector<Indices> sizes;
  for (int world : {2, 3, 4, 8}) {
    for (int r = 0; r < world; ++r) {
      GlobalBatchSampler sampler(100, {.global_batch_size = 30, .shuffle = true, .seed = 0}, r,
                                 world);
      ASSERT_EQ(sampler.batches_per_epoch(), 4);
      Indices mine;
      for (std::int64_t b = 0; b < 4; ++b) {
        mine.push_back(static_cast<std::int64_t>(sampler.plan(0, b).indices.size()));
      }
      sizes.push_back(mine);
    }
  }
  // 2 GPUs: 15,15 then 5,5; 3 GPUs: 10s then 4,4,2; 4 GPUs: 8,8,8,6 then 3,3,3,1.
  EXPECT_EQ(sizes[0], (Indices{15, 15, 15, 5}));
  EXPECT_EQ(sizes[3], (Indices{10, 10, 10, 4}));
  EXPECT_EQ(sizes[4], (Indices{10, 10, 10, 2}));
  EXPECT_EQ(sizes[5], (Indices{8, 8, 8, 3}));
  EXPECT_EQ(sizes[8], (Indices{6, 6, 6, 1}));
  // 8 GPUs: 4s with one 2, and the last 10 as 2,2,2,2,2,0,0,0.
  EXPECT_EQ(sizes[9], (Indices{4, 4, 4, 2}));
  EXPECT_EQ(sizes[16], (Indices{2, 2, 2, 0}));
  EXPECT_EQ(sizes[13], (Indices{4, 4, 4, 2}));
  EXPECT_EQ(sizes[14], (Indices{4, 4, 4, 0}));
}

TEST(GlobalBatchSampler, EvaluationSeesEverySampleOnceWithoutPadding) {
  for (std::int64_t n : {1, 9, 50, 103}) {
    for (int world : {1, 2, 3, 4, 8}) {
      std::vector<int> seen(static_cast<std::size_t>(n), 0);
      std::int64_t batches = -1;
      for (int r = 0; r < world; ++r) {
        GlobalBatchSampler sampler = GlobalBatchSampler::for_evaluation(n, 16, r, world);
        if (batches >= 0) {
          EXPECT_EQ(sampler.batches_per_epoch(), batches);
        }
        batches = sampler.batches_per_epoch();
        for (std::int64_t b = 0; b < batches; ++b) {
          for (std::int64_t i : sampler.plan(3, b).indices) ++seen[static_cast<std::size_t>(i)];
        }
      }
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n) << n << " over " << world;
    }
  }
}

TEST(GlobalBatchSampler, RefusesBadSettingsAndMissingBatches) {
  EXPECT_THROW(GlobalBatchSampler(10, {.global_batch_size = 0}, 0, 1), InvalidArgument);
  EXPECT_THROW(GlobalBatchSampler(10, {}, 2, 2), InvalidArgument);
  EXPECT_THROW(GlobalBatchSampler(10, {}, -1, 2), InvalidArgument);
  GlobalBatchSampler sampler(10, {.global_batch_size = 4}, 0, 2);
  EXPECT_THROW(sampler.plan(0, 3), Error);
}

std::vector<Indices> distributed(std::int64_t n, int world, bool drop_last, bool shuffle = false,
                                 std::int64_t epoch = 0) {
  std::vector<Indices> all;
  for (int r = 0; r < world; ++r) {
    DistributedSampler sampler(n, {.shuffle = shuffle, .seed = 3, .drop_last = drop_last}, r,
                               world);
    sampler.set_epoch(epoch);
    all.push_back(sampler.indices());
  }
  return all;
}

TEST(DistributedSampler, MatchesPyTorchWithoutShuffle) {
  // list(DistributedSampler(range(n), num_replicas=N, rank=r, shuffle=False, drop_last=d)).
  EXPECT_EQ(distributed(10, 4, false),
            (std::vector<Indices>{{0, 4, 8}, {1, 5, 9}, {2, 6, 0}, {3, 7, 1}}));
  EXPECT_EQ(distributed(10, 4, true), (std::vector<Indices>{{0, 4}, {1, 5}, {2, 6}, {3, 7}}));
  EXPECT_EQ(distributed(3, 8, false),
            (std::vector<Indices>{{0}, {1}, {2}, {0}, {1}, {2}, {0}, {1}}));
  EXPECT_EQ(distributed(3, 8, true), std::vector<Indices>(8));
  EXPECT_EQ(distributed(5, 2, false), (std::vector<Indices>{{0, 2, 4}, {1, 3, 0}}));
  EXPECT_EQ(distributed(12, 3, false),
            (std::vector<Indices>{{0, 3, 6, 9}, {1, 4, 7, 10}, {2, 5, 8, 11}}));
  EXPECT_EQ(distributed(0, 2, false), std::vector<Indices>(2));
}

TEST(DistributedSampler, ShuffledSharesPadWithTheOrdersFirstIndices) {
  for (std::int64_t n : {1, 5, 10, 33}) {
    for (int world : {1, 2, 3, 4, 8}) {
      for (bool drop_last : {false, true}) {
        const auto shares = distributed(n, world, drop_last, true, 2);
        const Indices order = epoch_order(n, true, 3, 2);
        const std::int64_t per_rank = drop_last ? n / world : (n + world - 1) / world;
        for (int r = 0; r < world; ++r) {
          const Indices& share = shares[static_cast<std::size_t>(r)];
          ASSERT_EQ(static_cast<std::int64_t>(share.size()), per_rank);
          for (std::int64_t j = 0; j < per_rank; ++j) {
            EXPECT_EQ(share[static_cast<std::size_t>(j)],
                      order[static_cast<std::size_t>((r + j * world) % n)]);
          }
        }
      }
    }
  }
  EXPECT_NE(distributed(33, 2, false, true, 0), distributed(33, 2, false, true, 1));
}

TEST(DistributedBatchSampler, GlobalBatchIsLocalTimesWorld) {
  for (int r = 0; r < 4; ++r) {
    DistributedBatchSampler sampler(DistributedSampler(10, {.shuffle = false}, r, 4), 2);
    ASSERT_EQ(sampler.batches_per_epoch(), 2);
    EXPECT_EQ(sampler.plan(0, 0).global_n, 8);
    const BatchPlan last = sampler.plan(0, 1);
    EXPECT_EQ(last.global_n, 4);
    EXPECT_EQ(last.indices, (Indices{(r + 8) % 10}));
  }
  DistributedBatchSampler dropping(DistributedSampler(10, {.shuffle = false}, 0, 4), 2, true);
  EXPECT_EQ(dropping.batches_per_epoch(), 1);
}

}  // namespace
}  // namespace ddp::data
