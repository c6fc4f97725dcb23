// LinearShards: with a sharded optimizer, each rank computes its shard of the summed gradients
// from every rank's layer inputs and output gradients. N ranks must still train as one process
// on the whole batches, for even, uneven and empty slices, shards that cut weight rows, batches
// that outgrow the staging, and gradients accumulated under no_sync.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ddp/data/batch.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/linear_shards.hpp"
#include "ddp/parallel/sharded_optimizer.hpp"
#include "mpi_test_env.hpp"
#include "small_mlp.hpp"

namespace ddp::parallel {
namespace {

using testing_env::kClasses;
using testing_env::kFeatures;
using testing_env::relative_difference;
using testing_env::world;

// Small buckets, whose blocks start and end inside weight rows at every world size above 1.
DdpOptions sharded_options() {
  DdpOptions options;
  options.first_bucket_cap_mb = 0.5 / 1024;
  options.bucket_cap_mb = 2.0 / 1024;
  options.sharded_optimizer = true;
  return options;
}

bool ranks_share_memory() {
  const char* shared = std::getenv("DDP_SHARED_MEMORY");
  return world().size() > 1 && (shared == nullptr || std::string(shared) != "0");
}

// This rank's slice (torch.chunk's) of `size` samples from `begin`.
data::Batch slice(const data::Dataset& dataset, std::int64_t begin, std::int64_t size, int rank,
                  int ranks) {
  data::BatchPlan plan;
  plan.global_n = size;
  const auto bounds = data::chunk_bounds(size, ranks, rank);
  for (std::int64_t i = bounds.begin; i < bounds.end; ++i) plan.indices.push_back(begin + i);
  return data::collate(dataset, plan);
}

struct Replica {
  explicit Replica(std::uint64_t seed, const DdpOptions& options = sharded_options())
      : model(testing_env::small_mlp(seed)),
        ddp(*model, testing_env::runtime->world(), options),
        optimizer(ddp, [](std::vector<nn::Parameter*> blocks) {
          return std::make_unique<optim::Sgd>(std::move(blocks),
                                              optim::SgdOptions{.lr = 0.05, .momentum = 0.9});
        }) {}

  std::unique_ptr<nn::Sequential> model;
  DistributedDataParallel ddp;
  ShardedOptimizer optimizer;
};

struct Reference {
  Reference()
      : model(testing_env::small_mlp(7)),
        optimizer(model->parameters(), {.lr = 0.05, .momentum = 0.9}) {}
  // One step on the whole batch of `size` samples from begin.
  void step(const data::Dataset& dataset, std::int64_t begin, std::int64_t size) {
    nn::CrossEntropyLoss criterion;
    const data::Batch whole = slice(dataset, begin, size, 0, 1);
    criterion.forward(model->forward(whole.features), whole.labels);
    model->backward(criterion.backward());
    optimizer.step();
    optimizer.zero_grad();
  }
  std::unique_ptr<nn::Sequential> model;
  optim::Sgd optimizer;
};

void expect_same_parameters(nn::Module& actual, nn::Module& expected, const std::string& when) {
  auto a = actual.parameters();
  auto e = expected.parameters();
  ASSERT_EQ(a.size(), e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(relative_difference(a[i]->value, e[i]->value), 1e-5)
        << when << ": parameter " << a[i]->name << " on rank " << world().rank();
  }
}

// Trains a sharded replica and the one-process reference on global batches of these sizes, taken
// in order; returns the steps whose shards LinearShards computed (-1: it was not used).
std::int64_t train_and_compare(const std::vector<std::int64_t>& global_sizes) {
  const int rank = world().rank(), n = world().size();
  std::int64_t samples = 0;
  for (std::int64_t size : global_sizes) samples += size;
  data::SyntheticClassification dataset(samples, kFeatures, kClasses, 11);
  Replica replica(7 + static_cast<std::uint64_t>(rank));  // DDP replaces rank 0's weights
  Reference reference;
  nn::CrossEntropyLoss criterion;
  std::int64_t begin = 0;
  for (std::size_t step = 0; step < global_sizes.size(); ++step) {
    const data::Batch batch = slice(dataset, begin, global_sizes[step], rank, n);
    criterion.forward(replica.ddp.forward(batch.features), batch.labels, batch.global_n);
    replica.ddp.backward(criterion.backward());
    replica.ddp.finish();
    replica.optimizer.step();
    replica.optimizer.zero_grad();
    reference.step(dataset, begin, global_sizes[step]);
    expect_same_parameters(*replica.model, *reference.model, "step " + std::to_string(step));
    begin += global_sizes[step];
  }
  const LinearShards* shards = replica.ddp.linear_shards();
  EXPECT_EQ(shards != nullptr, ranks_share_memory());
  return shards == nullptr ? -1 : shards->computed_steps();
}

TEST(LinearShards, MatchOneProcessOverEvenUnevenAndEmptySlices) {
  // 10 over 4 ranks is 3,3,2,2; 7 over 8 ranks leaves one empty.
  const std::int64_t computed = train_and_compare({24, 24, 10, 24, 7, 24});
  if (ranks_share_memory()) {
    EXPECT_EQ(computed, 6);
  }
}

TEST(LinearShards, StagingGrowsWithTheBatch) {
  // Each larger batch grows the staging, and the ranks stage it again.
  const std::int64_t computed = train_and_compare({8, 8, 24, 24, 40, 8});
  if (ranks_share_memory()) {
    EXPECT_EQ(computed, 6);
  }
}

// This rank's shard of every gradient bucket, after backward and finish() of each batch in turn
// (no optimizer step, so the parameters stay put).
std::vector<std::vector<float>> own_shards_after(const std::vector<std::int64_t>& global_sizes) {
  const int rank = world().rank(), n = world().size();
  data::SyntheticClassification dataset(100, kFeatures, kClasses, 13);
  Replica replica(7);
  nn::CrossEntropyLoss criterion;
  for (std::int64_t size : global_sizes) {
    replica.model->zero_grad();
    const data::Batch batch = slice(dataset, 0, size, rank, n);
    criterion.forward(replica.ddp.forward(batch.features), batch.labels, batch.global_n);
    replica.ddp.backward(criterion.backward());
    replica.ddp.finish();
  }
  std::vector<std::vector<float>> shards;
  const std::vector<Tensor> buckets = replica.ddp.reducer().gradient_buckets();
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const Reducer::Shard mine = replica.ddp.reducer().shard(b);
    shards.push_back(buckets[b].view(mine.offset, {mine.numel}).to_vector<float>());
  }
  return shards;
}

TEST(LinearShards, AStepsBitsDoNotDependOnWhatEarlierStepsStaged) {
  // The same batch of 24: staged into room grown at that very step, and into room a batch of 40
  // grew before it.
  EXPECT_EQ(own_shards_after({40, 24}), own_shards_after({24}));
}

TEST(LinearShards, NoSyncAccumulationIsSummedByTheReducer) {
  const int rank = world().rank(), n = world().size();
  data::SyntheticClassification dataset(64, kFeatures, kClasses, 5);
  Replica replica(7 + static_cast<std::uint64_t>(rank));
  Reference reference;
  nn::CrossEntropyLoss criterion;
  // Each step: a batch of 32 as micro-batches of 12, 12 and 8, the first two without sync.
  for (int step = 0; step < 2; ++step) {
    std::int64_t begin = step * 32;
    for (std::int64_t size : {12, 12, 8}) {
      const data::Batch micro = slice(dataset, begin, size, rank, n);
      auto run = [&] {
        criterion.forward(replica.ddp.forward(micro.features), micro.labels, 32);
        replica.ddp.backward(criterion.backward());
        replica.ddp.finish();
      };
      if (size == 8) {
        run();
      } else {
        auto guard = replica.ddp.no_sync();
        run();
      }
      begin += size;
    }
    replica.optimizer.step();
    replica.optimizer.zero_grad();
    reference.step(dataset, step * 32, 32);
  }
  expect_same_parameters(*replica.model, *reference.model, "no_sync accumulation");
  if (const LinearShards* shards = replica.ddp.linear_shards()) {
    EXPECT_EQ(shards->computed_steps(), 0);
  }
}

// A model with a parameter no Linear layer owns.
class EmbeddingThenLinear : public nn::Module {
 public:
  EmbeddingThenLinear() : generator_(3), embedding_(10, 4, generator_), linear_(4, 2, generator_) {
    register_module("embedding", embedding_);
    register_module("linear", linear_);
  }
  Tensor forward(const Tensor& input) override {
    return linear_.forward(embedding_.forward(input));
  }
  Tensor backward(const Tensor& grad_output) override {
    return embedding_.backward(linear_.backward(grad_output));
  }

 private:
  Generator generator_;
  nn::Embedding embedding_;
  nn::Linear linear_;
};

TEST(LinearShards, OnlyForModelsOfLinearLayersAndWhenAskedFor) {
  EmbeddingThenLinear mixed;
  DistributedDataParallel mixed_ddp(mixed, testing_env::runtime->world(), sharded_options());
  EXPECT_EQ(mixed_ddp.linear_shards(), nullptr);

  DdpOptions off = sharded_options();
  off.linear_shards = false;
  Replica replica(7, off);
  EXPECT_EQ(replica.ddp.linear_shards(), nullptr);

  DdpOptions unsharded = sharded_options();
  unsharded.sharded_optimizer = false;
  auto model = testing_env::small_mlp(7);
  DistributedDataParallel ddp(*model, testing_env::runtime->world(), unsharded);
  EXPECT_EQ(ddp.linear_shards(), nullptr);
}

}  // namespace
}  // namespace ddp::parallel
