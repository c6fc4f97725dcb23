// DDP with shared weights: a language model whose output layer is tied to its token embedding
// (GPT-2's lm_head) and which runs one layer twice in every forward. N ranks on their slices of
// each global batch must end with the parameters of one process on the whole batches, and the
// tied weight must be one parameter in one bucket, reduced once and reported after its last use.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "mpi_test_env.hpp"
#include "shared_weight_models.hpp"
#include "small_mlp.hpp"

namespace ddp::parallel {
namespace {

using testing_env::relative_difference;
using testing_env::world;
using testing_models::TiedLanguageModel;

constexpr std::int64_t kVocab = 11;
constexpr std::int64_t kWidth = 8;
constexpr std::int64_t kContext = 5;

// Sample i: kContext + 1 tokens of a noisy counting sequence, inputs then next-token targets.
struct TokenBatch {
  Tensor inputs;   // int64 [n, kContext]
  Tensor targets;  // int64 [n * kContext]
  std::int64_t global_tokens = 0;
};

TokenBatch token_batch(const data::BatchPlan& plan) {
  const auto n = static_cast<std::int64_t>(plan.indices.size());
  std::vector<std::int64_t> inputs, targets;
  for (std::int64_t sample : plan.indices) {
    Generator noise(static_cast<std::uint64_t>(sample) + 100);
    std::vector<std::int64_t> sequence;
    for (std::int64_t t = 0; t <= kContext; ++t) {
      const bool jump = noise.uniform() < 0.2;
      sequence.push_back((sample + 2 * t + (jump ? 5 : 0)) % kVocab);
    }
    inputs.insert(inputs.end(), sequence.begin(), sequence.end() - 1);
    targets.insert(targets.end(), sequence.begin() + 1, sequence.end());
  }
  return {Tensor::from_vector(inputs, {n, kContext}), Tensor::from_vector(targets, {n * kContext}),
          plan.global_n * kContext};
}

// One step's loss: the mean over every token of the global batch.
void forward_backward(nn::Module& model, const TokenBatch& batch, nn::CrossEntropyLoss& criterion,
                      DistributedDataParallel* ddp) {
  Tensor logits = ddp ? ddp->forward(batch.inputs) : model.forward(batch.inputs);
  criterion.forward(logits.reshape({batch.targets.numel(), kVocab}), batch.targets,
                    batch.global_tokens);
  Tensor dy = criterion.backward().reshape(logits.shape());
  if (ddp) {
    ddp->backward(dy);
    ddp->finish();
  } else {
    model.backward(dy);
  }
}

std::unique_ptr<optim::Optimizer> optimizer_for(bool adamw, nn::Module& model) {
  if (adamw) {
    return std::make_unique<optim::Adamw>(model.parameters(),
                                          optim::AdamwOptions{.lr = 1e-2, .weight_decay = 0.1});
  }
  return std::make_unique<optim::Sgd>(model.parameters(),
                                      optim::SgdOptions{.lr = 0.3, .momentum = 0.9});
}

TEST(DdpSharedWeights, TiedAndTwiceUsedWeightsTrainAsOneProcess) {
  const int rank = world().rank(), n = world().size();
  for (bool adamw : {false, true}) {
    auto model = std::make_unique<TiedLanguageModel>(kVocab, kWidth, 2, true,
                                                     7 + static_cast<std::uint64_t>(rank));
    TiedLanguageModel reference(kVocab, kWidth, 2, true, 7);
    DdpOptions options;
    options.first_bucket_cap_mb = 0.1 / 1024;  // several buckets, the tied weight in the last
    options.bucket_cap_mb = 0.2 / 1024;
    DistributedDataParallel ddp(*model, testing_env::runtime->world(), options);
    auto optimizer = optimizer_for(adamw, *model);
    auto reference_optimizer = optimizer_for(adamw, reference);
    nn::CrossEntropyLoss criterion, reference_criterion;
    // 13 samples in batches of 6: the last batch of 1 leaves ranks empty from np2 on.
    const data::GlobalBatchOptions batches{.global_batch_size = 6, .seed = 2};
    data::GlobalBatchSampler mine(13, batches, rank, n), whole(13, batches, 0, 1);
    for (int step = 0; step < 10; ++step) {
      const std::int64_t epoch = step / 3, index = step % 3;
      forward_backward(*model, token_batch(mine.plan(epoch, index)), criterion, &ddp);
      forward_backward(reference, token_batch(whole.plan(epoch, index)), reference_criterion,
                       nullptr);
      if (step == 0) {
        auto p = model->parameters(), q = reference.parameters();
        for (std::size_t i = 0; i < p.size(); ++i) {
          EXPECT_LE(relative_difference(p[i]->grad, q[i]->grad), 1e-5)
              << "the summed gradient of " << p[i]->name;
        }
      }
      optimizer->step();
      optimizer->zero_grad();
      reference_optimizer->step();
      reference_optimizer->zero_grad();
    }
    auto p = model->parameters(), q = reference.parameters();
    ASSERT_EQ(p.size(), 3u);
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_LE(relative_difference(p[i]->value, q[i]->value), 1e-5)
          << (adamw ? "AdamW" : "SGD") << ": " << p[i]->name << " on rank " << rank;
    }
  }
}

TEST(DdpSharedWeights, TheTiedWeightIsInOneBucketAndReducedOnce) {
  TiedLanguageModel model(kVocab, kWidth, 2, true, 3);
  DistributedDataParallel ddp(model, testing_env::runtime->world());
  const Reducer& reducer = ddp.reducer();
  std::size_t entries = 0;
  for (const Bucket& bucket : reducer.plan().buckets) entries += bucket.entries.size();
  EXPECT_EQ(entries, 3u);  // wte.weight (also lm_head's), mix.weight, mix.bias
  EXPECT_EQ(reducer.wire_bytes_per_step(), model.parameter_count() * 4);
  EXPECT_EQ(model.parameter_count(), kVocab * kWidth + kWidth * kWidth + kWidth);

  // Its hook fires once, after the embedding's backward: only then is the last bucket complete.
  const data::GlobalBatchOptions batches{.global_batch_size = 4};
  data::GlobalBatchSampler sampler(8, batches, world().rank(), world().size());
  const TokenBatch batch = token_batch(sampler.plan(0, 0));
  Tensor logits = ddp.forward(batch.inputs);
  nn::CrossEntropyLoss criterion;
  criterion.forward(logits.reshape({batch.targets.numel(), kVocab}), batch.targets,
                    batch.global_tokens);
  ddp.backward(criterion.backward().reshape(logits.shape()));
  EXPECT_EQ(reducer.buckets_launched(), reducer.plan().buckets.size());
  ddp.finish();  // a second report of the tied weight would have thrown in backward
}

}  // namespace
}  // namespace ddp::parallel
