#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ddp/core/random.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/split.hpp"
#include "ddp/data/synthetic.hpp"

namespace ddp::data {
namespace {

using namespace std::chrono_literals;

// Sample i has features {i, -i} and label i % 3; it can sleep, count its reads, or fail.
class ProbeDataset : public Dataset {
 public:
  explicit ProbeDataset(std::int64_t size) : size_(size) {}

  std::int64_t size() const override { return size_; }
  std::int64_t feature_count() const override { return 2; }
  std::int64_t class_count() const override { return 3; }
  void get(std::int64_t index, const SampleSlot& slot) const override {
    if (delay_ > 0us) std::this_thread::sleep_for(delay_);
    if (jitter_seed_ != 0) {
      std::this_thread::sleep_for(
          std::chrono::microseconds(Generator(derive_seed(jitter_seed_, index)).uniform_int(300)));
    }
    if (index == fail_at_) DDP_THROW(Error, "sample " << index << " is corrupt");
    slot.features[0] = static_cast<float>(index);
    slot.features[1] = -static_cast<float>(index);
    *slot.label = index % 3;
    {
      std::lock_guard lock(mutex_);
      ++reads_;
    }
    read_.notify_all();
  }

  // Waits (at most 10 s, only to fail instead of hanging) until `count` samples have been read.
  bool wait_for_reads(std::int64_t count) const {
    std::unique_lock lock(mutex_);
    return read_.wait_for(lock, 10s, [&] { return reads_ >= count; });
  }
  std::int64_t reads() const {
    std::lock_guard lock(mutex_);
    return reads_;
  }

  std::chrono::microseconds delay_{0};
  std::uint64_t jitter_seed_ = 0;
  std::int64_t fail_at_ = -1;

 private:
  std::int64_t size_;
  mutable std::mutex mutex_;
  mutable std::condition_variable read_;
  mutable std::int64_t reads_ = 0;
};

std::unique_ptr<BatchSampler> sequential(std::int64_t n, std::int64_t batch, int rank = 0,
                                         int world = 1) {
  return std::make_unique<GlobalBatchSampler>(
      n, GlobalBatchOptions{.global_batch_size = batch, .shuffle = false}, rank, world);
}

std::unique_ptr<BatchSampler> shuffled(std::int64_t n, std::int64_t batch, int rank = 0,
                                       int world = 1) {
  return std::make_unique<GlobalBatchSampler>(
      n, GlobalBatchOptions{.global_batch_size = batch, .shuffle = true, .seed = 4}, rank, world);
}

std::vector<Batch> drain(DataLoader& loader) {
  std::vector<Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

void expect_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].sample_indices, b[i].sample_indices);
    EXPECT_EQ(a[i].batch_index, b[i].batch_index);
    EXPECT_EQ(a[i].features.to_vector<float>(), b[i].features.to_vector<float>());
    EXPECT_EQ(a[i].labels.to_vector<std::int64_t>(), b[i].labels.to_vector<std::int64_t>());
  }
}

TEST(DataLoader, SameBatchesWhateverThePrefetchAndTheTiming) {
  auto dataset = std::make_shared<ProbeDataset>(53);
  DataLoader reference(dataset, shuffled(53, 8), {.prefetch = 0});
  reference.start_epoch(1);
  const std::vector<Batch> expected = drain(reference);
  ASSERT_EQ(expected.size(), 7u);
  EXPECT_EQ(expected.back().local_n, 5);
  EXPECT_EQ(expected[0].features.shape(), (Shape{8, 2}));
  EXPECT_EQ(expected[0].features.to_vector<float>()[0],
            static_cast<float>(expected[0].sample_indices[0]));

  dataset->jitter_seed_ = 17;  // random delays: batches must still come out in order
  for (int prefetch : {1, 2, 5}) {
    DataLoader loader(dataset, shuffled(53, 8), {.prefetch = prefetch});
    loader.start_epoch(1);
    expect_same(drain(loader), expected);
    EXPECT_FALSE(loader.next().has_value());
  }
}

TEST(DataLoader, PrefetchReadsAheadWhileTheCallerComputesBoundedByPrefetch) {
  auto dataset = std::make_shared<ProbeDataset>(40);
  dataset->delay_ = 1ms;  // a slow dataset: 4 ms a batch
  DataLoader loader(dataset, sequential(40, 4), {.prefetch = 2});
  loader.start_epoch(0);
  for (std::int64_t b = 0; b < 6; ++b) {
    std::optional<Batch> batch = loader.next();
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->batch_index, b);
    // While the caller "computes" on batch b, batches b+1 and b+2 are read without being asked.
    ASSERT_TRUE(dataset->wait_for_reads(4 * (b + 3))) << "no read-ahead after batch " << b;
    // And no further: the reader waits for room in the queue.
    std::this_thread::sleep_for(10ms);
    EXPECT_EQ(dataset->reads(), 4 * (b + 3));
  }
}

TEST(DataLoader, WithoutPrefetchNothingIsReadUntilAsked) {
  auto dataset = std::make_shared<ProbeDataset>(40);
  DataLoader loader(dataset, sequential(40, 4), {.prefetch = 0});
  loader.start_epoch(0);
  for (std::int64_t b = 0; b < 3; ++b) {
    ASSERT_TRUE(loader.next().has_value());
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(dataset->reads(), 4 * (b + 1));
  }
}

TEST(DataLoader, StopsCleanlyMidEpochAndRestartsAnywhere) {
  auto dataset = std::make_shared<ProbeDataset>(64);
  dataset->delay_ = 200us;
  DataLoader reference(dataset, sequential(64, 4), {.prefetch = 0});
  reference.start_epoch(0);
  const std::vector<Batch> all = drain(reference);
  {
    DataLoader loader(dataset, sequential(64, 4), {.prefetch = 3});
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    // Restarting while the reader is blocked on a full queue drops what it read ahead.
    ASSERT_TRUE(dataset->wait_for_reads(dataset->reads() + 4));
    loader.start_epoch(0, 10);
    const std::vector<Batch> rest = drain(loader);
    expect_same(rest, std::vector<Batch>(all.begin() + 10, all.end()));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    loader.stop();
    loader.start_epoch(0, 16);
    EXPECT_FALSE(loader.next().has_value());
    loader.start_epoch(0, 2);
    ASSERT_TRUE(loader.next().has_value());
  }  // destroyed mid-epoch with a busy reader: must join, not hang
  SUCCEED();
}

TEST(DataLoader, AReadErrorIsRethrownAtItsBatchAndAfter) {
  for (int prefetch : {0, 2}) {
    auto dataset = std::make_shared<ProbeDataset>(40);
    dataset->fail_at_ = 13;  // in batch 3
    DataLoader loader(dataset, sequential(40, 4), {.prefetch = prefetch});
    loader.start_epoch(0);
    for (std::int64_t b = 0; b < 3; ++b) {
      std::optional<Batch> batch = loader.next();
      ASSERT_TRUE(batch.has_value());
      EXPECT_EQ(batch->batch_index, b);
    }
    try {
      loader.next();
      ADD_FAILURE() << "no error at batch 3";
    } catch (const Error& error) {
      EXPECT_STREQ(error.what(), "sample 13 is corrupt");
    }
    EXPECT_THROW(loader.next(), Error);
    EXPECT_EQ(loader.state(), (SamplerState{0, 3}));
  }
}

TEST(DataLoader, ASavedStateResumesWithTheSameBatches) {
  auto dataset = std::make_shared<ProbeDataset>(50);
  DataLoader uninterrupted(dataset, shuffled(50, 6), {.prefetch = 2});
  std::vector<Batch> expected;
  for (std::int64_t epoch : {0, 1}) {
    uninterrupted.start_epoch(epoch);
    for (Batch& batch : drain(uninterrupted)) expected.push_back(std::move(batch));
  }
  EXPECT_EQ(uninterrupted.state(), (SamplerState{2, 0}));

  std::vector<Batch> got;
  SamplerState saved;
  {
    DataLoader first(dataset, shuffled(50, 6), {.prefetch = 2});
    first.start_epoch(0);
    for (int i = 0; i < 5; ++i) got.push_back(*first.next());
    saved = first.state();
  }  // the run stops here
  EXPECT_EQ(saved, (SamplerState{0, 5}));
  DataLoader resumed(dataset, shuffled(50, 6), {.prefetch = 2});
  for (SamplerState state = saved; state.epoch < 2; state = resumed.state()) {
    resumed.start_epoch(state);
    for (Batch& batch : drain(resumed)) got.push_back(std::move(batch));
  }
  expect_same(got, expected);
}

TEST(DataLoader, EveryRankGetsItsChunkIncludingEmptyOnes) {
  // The tutorial's last batch of 10 over 8 ranks: 2,2,2,2,2,0,0,0; all ranks take the step.
  auto dataset = std::make_shared<ProbeDataset>(10);
  for (int rank = 0; rank < 8; ++rank) {
    DataLoader loader(dataset, sequential(10, 10, rank, 8));
    loader.start_epoch(0);
    std::optional<Batch> batch = loader.next();
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->local_n, rank < 5 ? 2 : 0);
    EXPECT_EQ(batch->global_n, 10);
    EXPECT_EQ(batch->features.shape(), (Shape{batch->local_n, 2}));
    EXPECT_EQ(batch->labels.shape(), (Shape{batch->local_n}));
    EXPECT_FALSE(loader.next().has_value());
  }
}

TEST(DataLoader, RanksTogetherReadTheSameGlobalBatchesForAnyWorldSize) {
  auto task = std::make_shared<const SyntheticClassification>(300, 6, 4, 21);
  const TrainValSplit split = split_train_val(task, 0.2, 21);
  const GlobalBatchOptions options{.global_batch_size = 32, .shuffle = true, .seed = 21};
  auto whole_batches = [&](int world) {
    std::vector<std::unique_ptr<DataLoader>> ranks;
    for (int r = 0; r < world; ++r) {
      ranks.push_back(std::make_unique<DataLoader>(
          split.train, std::make_unique<GlobalBatchSampler>(240, options, r, world)));
      ranks.back()->start_epoch(1);
    }
    std::vector<std::vector<float>> batches;
    for (std::int64_t b = 0; b < ranks[0]->batches_per_epoch(); ++b) {
      std::vector<float> joined;
      std::int64_t rows = 0;
      for (auto& loader : ranks) {
        const Batch batch = *loader->next();
        EXPECT_EQ(batch.global_n, b < 7 ? 32 : 16);
        rows += batch.local_n;
        const std::vector<float> mine = batch.features.to_vector<float>();
        joined.insert(joined.end(), mine.begin(), mine.end());
      }
      EXPECT_EQ(rows, b < 7 ? 32 : 16);
      batches.push_back(joined);
    }
    return batches;
  };
  const auto single = whole_batches(1);
  ASSERT_EQ(single.size(), 8u);
  EXPECT_EQ(whole_batches(2), single);
  EXPECT_EQ(whole_batches(3), single);
}

TEST(DataLoader, RefusesNextBeforeAnEpochAndBadStarts) {
  auto dataset = std::make_shared<ProbeDataset>(10);
  DataLoader loader(dataset, sequential(10, 4));
  EXPECT_THROW(loader.next(), Error);
  EXPECT_THROW(loader.start_epoch(0, 4), InvalidArgument);
  EXPECT_THROW(loader.start_epoch(-1), InvalidArgument);
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());
  loader.stop();
  EXPECT_THROW(loader.next(), Error);
  EXPECT_EQ(loader.state(), (SamplerState{0, 1}));
  EXPECT_THROW(DataLoader(dataset, sequential(10, 4), {.prefetch = -1}), InvalidArgument);
}

}  // namespace
}  // namespace ddp::data
