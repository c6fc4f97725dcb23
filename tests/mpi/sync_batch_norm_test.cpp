// BatchNorm under DDP. With convert_sync_batchnorm, N ranks on their slices of each global batch
// (30 samples: uneven slices at -np 4 and 8; a last batch of 12 that leaves ranks empty at -np 8)
// end with the parameters and running statistics of one process with plain BatchNorm on the
// whole batches. Without it each rank's running statistics are its own slice's, and
// broadcast_buffers gives every rank rank 0's buffers at the start of each training forward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/batch_norm.hpp"
#include "ddp/nn/flatten.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/buffer_broadcast.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "ddp/parallel/sync_batch_norm.hpp"
#include "mpi_test_env.hpp"
#include "small_mlp.hpp"

namespace ddp::parallel {
namespace {

using testing_env::relative_difference;
using testing_env::world;

constexpr std::int64_t kChannels = 3;
constexpr std::int64_t kSide = 2;
constexpr std::int64_t kHidden = 8;
constexpr std::int64_t kOutputs = 4;
// Batches of 30, 30 and 12 per epoch: the last leaves 2 of 8 ranks empty and none with one
// sample (one value per channel is an Error for a plain BatchNorm1d in training).
constexpr std::int64_t kSamples = 72;
constexpr int kSteps = 10;
const data::GlobalBatchOptions kBatches{.global_batch_size = 30, .seed = 5};

struct Batch {
  Tensor images;   // [n, kChannels, kSide, kSide]
  Tensor targets;  // [n, kOutputs]
  std::int64_t global_n = 0;
};

// Sample i from a generator seeded by i; channel c is offset by c and scaled by c + 1, so that
// the statistics are far from 0 and 1.
Batch batch_of(const data::BatchPlan& plan) {
  const auto n = static_cast<std::int64_t>(plan.indices.size());
  std::vector<float> images, targets;
  for (std::int64_t sample : plan.indices) {
    Generator generator(static_cast<std::uint64_t>(sample) + 1000);
    for (std::int64_t c = 0; c < kChannels; ++c) {
      for (std::int64_t k = 0; k < kSide * kSide; ++k) {
        images.push_back(generator.uniform(-1.0f, 1.0f) * static_cast<float>(c + 1) +
                         static_cast<float>(c));
      }
    }
    for (std::int64_t k = 0; k < kOutputs; ++k) targets.push_back(generator.uniform(-1.0f, 1.0f));
  }
  return {Tensor::from_vector(images, {n, kChannels, kSide, kSide}),
          Tensor::from_vector(targets, {n, kOutputs}), plan.global_n};
}

// The model's first layer: keeps a copy of the model's buffers as each forward finds them.
class BufferProbe : public nn::Module {
 public:
  void watch(nn::Module* model) { model_ = model; }
  std::vector<Tensor> seen;

 protected:
  Tensor forward_impl(const Tensor& input) override {
    seen.clear();
    for (nn::Buffer* buffer : model_->buffers()) seen.push_back(buffer->value.clone());
    return input;
  }
  Tensor backward_impl(const Tensor& grad_output) override { return grad_output; }

 private:
  nn::Module* model_ = nullptr;
};

// Probe, BatchNorm2d, ReLU, Flatten, Linear, BatchNorm1d, ReLU, Linear, drawn from seed (the
// first ReLU makes BatchNorm2d's bias matter: BatchNorm1d would cancel a shift through Linear).
std::unique_ptr<nn::Sequential> bn_model(std::uint64_t seed) {
  Generator generator(seed);
  auto model = std::make_unique<nn::Sequential>();
  auto& probe = model->emplace<BufferProbe>();
  model->emplace<nn::BatchNorm2d>(kChannels);
  model->emplace<nn::ReLU>();
  model->emplace<nn::Flatten>();
  model->emplace<nn::Linear>(kChannels * kSide * kSide, kHidden, generator);
  model->emplace<nn::BatchNorm1d>(kHidden);
  model->emplace<nn::ReLU>();
  model->emplace<nn::Linear>(kHidden, kOutputs, generator);
  probe.watch(model.get());
  return model;
}

BufferProbe& probe_of(nn::Sequential& model) {
  return dynamic_cast<BufferProbe&>(*model.modules()[1]);
}

optim::SgdOptions sgd() {
  return {.lr = 0.1, .momentum = 0.9};
}

// One SGD step on the batch: the loss is the squared error summed over the slice / global_n.
void train_step(nn::Module& model, DistributedDataParallel* ddp, const Batch& batch,
                optim::Sgd& optimizer) {
  nn::MSELoss criterion;
  const Tensor y = ddp ? ddp->forward(batch.images) : model.forward(batch.images);
  criterion.forward(y, batch.targets, batch.global_n);
  const Tensor dy = criterion.backward();
  if (ddp) {
    ddp->backward(dy);
    ddp->finish();
  } else {
    model.backward(dy);
  }
  optimizer.step();
  optimizer.zero_grad();
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::int64) return a.to_vector<std::int64_t>() == b.to_vector<std::int64_t>();
  return a.to_vector<float>() == b.to_vector<float>();
}

// Whether t equals rank 0's t (the same on every rank: the verdicts are all-reduced).
bool equals_rank_zero(const Tensor& t) {
  Tensor rank_zero = t.clone();
  world().broadcast(rank_zero, 0);
  Tensor differs = Tensor::from_vector<std::int64_t>({same_values(t, rank_zero) ? 0 : 1}, {1});
  world().all_reduce(differs, ReduceOp::max);
  return differs.to_vector<std::int64_t>()[0] == 0;
}

TEST(DdpBatchNorm, SyncBatchNormTrainsAsOneProcessOnTheWholeBatches) {
  const int rank = world().rank(), n = world().size();
  auto model = bn_model(11 + static_cast<std::uint64_t>(rank));  // DDP copies rank 0's
  auto reference = bn_model(11);
  EXPECT_EQ(convert_sync_batchnorm(*model, testing_env::runtime->world()), 2u);
  DistributedDataParallel ddp(*model, testing_env::runtime->world());
  optim::Sgd optimizer(model->parameters(), sgd()),
      reference_optimizer(reference->parameters(), sgd());
  data::GlobalBatchSampler mine(kSamples, kBatches, rank, n), whole(kSamples, kBatches, 0, 1);
  for (int step = 0; step < kSteps; ++step) {
    train_step(*model, &ddp, batch_of(mine.plan(step / 3, step % 3)), optimizer);
    train_step(*reference, nullptr, batch_of(whole.plan(step / 3, step % 3)), reference_optimizer);
  }
  const std::vector<NamedTensor> ours = model->state_dict(), theirs = reference->state_dict();
  ASSERT_EQ(ours.size(), 14u);  // 4 parameters, 6 statistics and 2 counters in 2 BatchNorms
  double largest = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (ours[i].tensor.dtype() == DType::int64) {
      EXPECT_EQ(ours[i].tensor.to_vector<std::int64_t>(), std::vector<std::int64_t>{kSteps})
          << ours[i].name;
      continue;
    }
    const double difference = relative_difference(ours[i].tensor, theirs[i].tensor);
    EXPECT_LE(difference, 1e-5) << ours[i].name << " on rank " << rank;
    largest = std::max(largest, difference);
  }
  if (rank == 0) std::printf("[ sync bn  ] np%d: largest relative difference %.2e\n", n, largest);
}

TEST(DdpBatchNorm, PlainBatchNormKeepsEachRanksOwnStatisticsWithoutBufferBroadcast) {
  const int rank = world().rank(), n = world().size();
  auto model = bn_model(11 + static_cast<std::uint64_t>(rank));
  auto local = bn_model(0);
  DdpOptions options;
  options.broadcast_buffers = false;
  DistributedDataParallel ddp(*model, testing_env::runtime->world(), options);
  optim::Sgd optimizer(model->parameters(), sgd());
  data::GlobalBatchSampler mine(kSamples, kBatches, rank, n);
  bool replicas_drifted = false;
  for (int step = 0; step < kSteps; ++step) {
    const Batch batch = batch_of(mine.plan(step / 3, step % 3));
    // One plain BatchNorm model in this rank's state, on this rank's slice alone.
    std::vector<NamedTensor> state = model->state_dict(), local_state = local->state_dict();
    for (std::size_t i = 0; i < state.size(); ++i) local_state[i].tensor.copy_(state[i].tensor);
    local->forward(batch.images);
    train_step(*model, &ddp, batch, optimizer);
    for (nn::Buffer* buffer : model->buffers()) {
      const auto found = std::find_if(local_state.begin(), local_state.end(),
                                      [&](const NamedTensor& t) { return t.name == buffer->name; });
      ASSERT_NE(found, local_state.end());
      EXPECT_TRUE(same_values(buffer->value, found->tensor))
          << buffer->name << " at step " << step << " on rank " << rank;
    }
    for (const Tensor& seen : probe_of(*model).seen) {
      if (!equals_rank_zero(seen)) replicas_drifted = true;
    }
  }
  // The test could fail: without the broadcast the ranks' statistics do part.
  EXPECT_EQ(replicas_drifted, n > 1);
}

TEST(DdpBatchNorm, BroadcastBuffersGivesEveryRankRankZerosBuffersAtEachForward) {
  const int rank = world().rank(), n = world().size();
  auto model = bn_model(11 + static_cast<std::uint64_t>(rank));
  DistributedDataParallel ddp(*model, testing_env::runtime->world());
  EXPECT_EQ(BufferBroadcast(*model, testing_env::runtime->world()).broadcasts(),
            n > 1 ? 2u : 0u);  // float32 statistics, int64 counters
  optim::Sgd optimizer(model->parameters(), sgd());
  data::GlobalBatchSampler mine(kSamples, kBatches, rank, n);
  for (int step = 0; step < kSteps; ++step) {
    train_step(*model, &ddp, batch_of(mine.plan(step / 3, step % 3)), optimizer);
    const std::vector<Tensor>& seen = probe_of(*model).seen;
    ASSERT_EQ(seen.size(), 6u);
    for (const Tensor& buffer : seen) EXPECT_TRUE(equals_rank_zero(buffer)) << "step " << step;
  }
}

}  // namespace
}  // namespace ddp::parallel
