// DistributedDataParallel against one process: N ranks, each training on its torch.chunk slice of
// the same global batches, must end with the parameters of one process trained on the whole
// batches (computed here on every rank, locally), for even, uneven and empty slices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "ddp/data/batch.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "mpi_test_env.hpp"
#include "small_mlp.hpp"

namespace ddp::parallel {
namespace {

using testing_env::kClasses;
using testing_env::kFeatures;
using testing_env::relative_difference;
using testing_env::world;

constexpr std::uint64_t kInitSeed = 7;

std::shared_ptr<ProcessGroup> world_group() {
  return testing_env::runtime->world();
}

enum class OptimizerKind { sgd_momentum, adamw };

std::unique_ptr<optim::Optimizer> make_optimizer(OptimizerKind kind, nn::Module& model) {
  if (kind == OptimizerKind::sgd_momentum) {
    return std::make_unique<optim::Sgd>(model.parameters(),
                                        optim::SgdOptions{.lr = 0.05, .momentum = 0.9});
  }
  return std::make_unique<optim::Adamw>(model.parameters(), optim::AdamwOptions{.lr = 1e-2});
}

void expect_same_parameters(nn::Module& actual, nn::Module& expected, double tolerance,
                            const std::string& what) {
  auto a = actual.parameters();
  auto e = expected.parameters();
  ASSERT_EQ(a.size(), e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(relative_difference(a[i]->value, e[i]->value), tolerance)
        << what << ": parameter " << a[i]->name << " on rank " << world().rank();
  }
}

struct RunConfig {
  std::int64_t samples = 100;
  std::int64_t global_batch = 30;
  DdpOptions ddp;
  int steps = 20;
};

RunConfig run(std::int64_t samples, std::int64_t global_batch, const DdpOptions& ddp) {
  RunConfig config;
  config.samples = samples;
  config.global_batch = global_batch;
  config.ddp = ddp;
  return config;
}

DdpOptions buckets(double first_cap_kib, double cap_kib) {
  DdpOptions options;
  options.first_bucket_cap_mb = first_cap_kib / 1024;
  options.bucket_cap_mb = cap_kib / 1024;
  return options;
}

// The losses of each step (the global mean, summed over ranks) so callers can compare runs.
std::vector<double> train_and_compare(OptimizerKind kind, const RunConfig& config,
                                      double tolerance = 1e-5) {
  const int rank = world().rank(), n = world().size();
  data::SyntheticClassification dataset(config.samples, kFeatures, kClasses, 11);
  const data::GlobalBatchOptions batches{.global_batch_size = config.global_batch, .seed = 3};
  data::GlobalBatchSampler local_sampler(dataset.size(), batches, rank, n);
  data::GlobalBatchSampler whole_sampler(dataset.size(), batches, 0, 1);

  // Non-zero ranks draw different weights on purpose: DDP must replace them by rank 0's, which
  // equal the reference's.
  auto model = testing_env::small_mlp(kInitSeed + static_cast<std::uint64_t>(rank));
  auto reference = testing_env::small_mlp(kInitSeed);
  DistributedDataParallel ddp(*model, world_group(), config.ddp);
  auto optimizer = make_optimizer(kind, *model);
  auto reference_optimizer = make_optimizer(kind, *reference);
  nn::CrossEntropyLoss criterion, reference_criterion;

  std::vector<double> losses;
  const std::int64_t per_epoch = local_sampler.batches_per_epoch();
  for (int step = 0; step < config.steps; ++step) {
    const std::int64_t epoch = step / per_epoch, index = step % per_epoch;
    data::Batch batch = data::collate(dataset, local_sampler.plan(epoch, index));
    Tensor logits = ddp.forward(batch.features);
    float loss = criterion.forward(logits, batch.labels, batch.global_n);
    ddp.backward(criterion.backward());
    ddp.finish();
    optimizer->step();
    optimizer->zero_grad();
    Tensor total = Tensor::from_vector<double>({loss}, {1});
    world().all_reduce(total);
    losses.push_back(total.data<double>()[0]);

    data::Batch whole = data::collate(dataset, whole_sampler.plan(epoch, index));
    EXPECT_EQ(whole.global_n, batch.global_n);
    reference_criterion.forward(reference->forward(whole.features), whole.labels);
    reference->backward(reference_criterion.backward());
    reference_optimizer->step();
    reference_optimizer->zero_grad();
  }
  expect_same_parameters(*model, *reference, tolerance,
                         "after " + std::to_string(config.steps) + " steps");
  return losses;
}

// Small buckets, so the MLP spreads over several and they complete at different times.
DdpOptions small_buckets() {
  return buckets(0.5, 2.0);
}

class DdpMatchesOneProcess : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(DdpMatchesOneProcess, EvenSlices) {
  // 24 splits evenly over 1, 2, 3, 4 and 8 ranks.
  train_and_compare(GetParam(), run(96, 24, small_buckets()));
}

TEST_P(DdpMatchesOneProcess, UnevenAndEmptySlices) {
  // 100 samples in batches of 30: the last batch is 10, which 8 ranks cut 2,2,2,2,2,0,0,0.
  train_and_compare(GetParam(), run(100, 30, small_buckets()));
}

TEST_P(DdpMatchesOneProcess, DefaultBucketsHoldEverythingInOne) {
  train_and_compare(GetParam(), run(100, 30, DdpOptions{}));
}

INSTANTIATE_TEST_SUITE_P(Optimizers, DdpMatchesOneProcess,
                         ::testing::Values(OptimizerKind::sgd_momentum, OptimizerKind::adamw),
                         [](const auto& test) {
                           return test.param == OptimizerKind::adamw ? "AdamW" : "SgdMomentum";
                         });

TEST(Ddp, BucketsAreLaunchedDuringBackward) {
  auto model = testing_env::small_mlp(kInitSeed);
  DistributedDataParallel ddp(*model, world_group(), small_buckets());
  ASSERT_GE(ddp.reducer().plan().buckets.size(), 3u);
  data::SyntheticClassification dataset(8, kFeatures, kClasses, 1);
  data::BatchPlan plan;
  plan.global_n = 8;
  for (auto i = data::chunk_bounds(8, world().size(), world().rank()).begin;
       i < data::chunk_bounds(8, world().size(), world().rank()).end; ++i) {
    plan.indices.push_back(i);
  }
  data::Batch batch = data::collate(dataset, plan);
  nn::CrossEntropyLoss criterion;
  criterion.forward(ddp.forward(batch.features), batch.labels, batch.global_n);
  EXPECT_EQ(ddp.reducer().buckets_launched(), 0u);
  ddp.backward(criterion.backward());
  EXPECT_EQ(ddp.reducer().buckets_launched(), ddp.reducer().plan().buckets.size())
      << "every gradient was reported, so every bucket should be in flight before finish()";
  ddp.finish();
  EXPECT_EQ(ddp.reducer().buckets_launched(), 0u);
  // The buckets are the gradients: each grad is a view of its bucket's buffer.
  const std::vector<Tensor> flats = ddp.reducer().gradient_buckets();
  const std::vector<nn::Parameter*> params = model->parameters();
  ASSERT_EQ(flats.size(), ddp.reducer().plan().buckets.size());
  for (std::size_t b = 0; b < flats.size(); ++b) {
    for (const BucketEntry& entry : ddp.reducer().plan().buckets[b].entries) {
      EXPECT_TRUE(params[entry.parameter]->grad.shares_storage_with(flats[b]));
    }
  }
}

TEST(Ddp, ParameterLargerThanTheBucketCap) {
  auto model = testing_env::small_mlp(kInitSeed, 64);  // the middle weight is 16 KiB
  const DdpOptions options = buckets(1.0, 1.0);
  {
    DistributedDataParallel ddp(*model, world_group(), options);
    EXPECT_GE(ddp.reducer().plan().buckets.size(), 3u);
  }
  train_and_compare(OptimizerKind::adamw, run(100, 30, options));
}

TEST(Ddp, NoSyncAccumulationEqualsTheLargeBatch) {
  const int rank = world().rank(), n = world().size();
  data::SyntheticClassification dataset(64, kFeatures, kClasses, 5);
  auto model = testing_env::small_mlp(kInitSeed + static_cast<std::uint64_t>(rank));
  auto reference = testing_env::small_mlp(kInitSeed);
  DistributedDataParallel ddp(*model, world_group(), small_buckets());
  auto optimizer = make_optimizer(OptimizerKind::sgd_momentum, *model);
  auto reference_optimizer = make_optimizer(OptimizerKind::sgd_momentum, *reference);
  nn::CrossEntropyLoss criterion, reference_criterion;
  // Each step: a large batch of 32 as micro-batches of 12, 12 and 8, the first two without sync.
  const std::vector<std::int64_t> micro_sizes{12, 12, 8};
  for (int step = 0; step < 2; ++step) {
    std::int64_t begin = step * 32;
    for (std::size_t m = 0; m < micro_sizes.size(); ++m) {
      data::BatchPlan plan;
      plan.global_n = micro_sizes[m];
      auto bounds = data::chunk_bounds(micro_sizes[m], n, rank);
      for (std::int64_t i = bounds.begin; i < bounds.end; ++i) plan.indices.push_back(begin + i);
      data::Batch micro = data::collate(dataset, plan);
      auto run = [&] {
        criterion.forward(ddp.forward(micro.features), micro.labels, 32);
        ddp.backward(criterion.backward());
      };
      if (m + 1 < micro_sizes.size()) {
        auto guard = ddp.no_sync();
        run();
        ddp.finish();  // does nothing under no_sync
      } else {
        run();
        ddp.finish();
      }
      begin += micro_sizes[m];
    }
    data::BatchPlan whole_plan;
    whole_plan.global_n = 32;
    for (std::int64_t i = 0; i < 32; ++i) whole_plan.indices.push_back(step * 32 + i);
    data::Batch whole = data::collate(dataset, whole_plan);
    reference_criterion.forward(reference->forward(whole.features), whole.labels);
    reference->backward(reference_criterion.backward());
    auto p = model->parameters(), q = reference->parameters();
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_LE(relative_difference(p[i]->grad, q[i]->grad), 1e-5) << p[i]->name;
    }
    optimizer->step();
    optimizer->zero_grad();
    reference_optimizer->step();
    reference_optimizer->zero_grad();
  }
  expect_same_parameters(*model, *reference, 1e-5, "no_sync accumulation");
}

// An MLP with a layer that forward never uses: its parameters never get a gradient.
class WithUnusedLayer : public nn::Module {
 public:
  explicit WithUnusedLayer(std::uint64_t seed)
      : generator_(seed), net_(), unused_(4, 4, generator_) {
    net_.emplace<nn::Linear>(kFeatures, 16, generator_);
    net_.emplace<nn::Tanh>();
    net_.emplace<nn::Linear>(16, kClasses, generator_);
    net_.set_input_grad_needed(false);
    // Registered first: backward would report it last, so it shares the last bucket to fill.
    register_module("unused", unused_);
    register_module("net", net_);
  }

 protected:
  Tensor forward_impl(const Tensor& input) override { return net_.forward(input); }
  Tensor backward_impl(const Tensor& grad_output) override { return net_.backward(grad_output); }

 private:
  Generator generator_;
  nn::Sequential net_;
  nn::Linear unused_;
};

TEST(Ddp, UnusedParameterCountsAsZeroAndNeverBlocks) {
  const int rank = world().rank(), n = world().size();
  data::SyntheticClassification dataset(40, kFeatures, kClasses, 9);
  for (bool find_unused : {false, true}) {
    WithUnusedLayer model(kInitSeed + static_cast<std::uint64_t>(rank));
    WithUnusedLayer reference(kInitSeed);
    DdpOptions options = buckets(1.0, 1.0);
    options.find_unused_parameters = find_unused;
    DistributedDataParallel ddp(model, world_group(), options);
    // AdamW's decoupled weight decay moves a parameter that has a (zero) gradient.
    auto optimizer = make_optimizer(OptimizerKind::adamw, model);
    auto reference_optimizer = make_optimizer(OptimizerKind::adamw, reference);
    const Tensor unused_before = reference.parameters()[0]->value.clone();
    nn::CrossEntropyLoss criterion, reference_criterion;
    data::GlobalBatchSampler sampler(dataset.size(), {.global_batch_size = 20}, rank, n);
    data::GlobalBatchSampler whole(dataset.size(), {.global_batch_size = 20}, 0, 1);
    for (std::int64_t index = 0; index < 2; ++index) {
      data::Batch batch = data::collate(dataset, sampler.plan(0, index));
      criterion.forward(ddp.forward(batch.features), batch.labels, batch.global_n);
      ddp.backward(criterion.backward());
      ddp.finish();
      EXPECT_EQ(model.parameters()[0]->has_grad, !find_unused);
      optimizer->step();
      optimizer->zero_grad();
      data::Batch all = data::collate(dataset, whole.plan(0, index));
      reference_criterion.forward(reference.forward(all.features), all.labels);
      reference.backward(reference_criterion.backward());
      reference_optimizer->step();
      reference_optimizer->zero_grad();
    }
    auto p = model.parameters(), q = reference.parameters();
    for (std::size_t i = 2; i < p.size(); ++i) {
      EXPECT_LE(relative_difference(p[i]->value, q[i]->value), 1e-5) << p[i]->name;
    }
    EXPECT_EQ(relative_difference(q[0]->value, unused_before), 0.0);
    if (find_unused) {
      EXPECT_EQ(relative_difference(p[0]->value, q[0]->value), 0.0)
          << "a parameter no rank used must be skipped, as in one process";
    } else {
      EXPECT_GT(relative_difference(p[0]->value, q[0]->value), 0.0)
          << "without find_unused_parameters the zero gradient meets AdamW's weight decay";
    }
  }
}

TEST(Ddp, MismatchedShapesAreAnErrorNotAHang) {
  const int rank = world().rank(), n = world().size();
  if (n < 2) GTEST_SKIP() << "needs two ranks to differ";
  auto model = testing_env::small_mlp(kInitSeed, rank == n - 1 ? 20 : 24);
  try {
    DistributedDataParallel ddp(*model, world_group());
    FAIL() << "models of different shapes were accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("#0"), std::string::npos) << message;
    EXPECT_NE(message.find("'0.weight' float32[24, 12]"), std::string::npos) << message;
    EXPECT_NE(message.find("rank " + std::to_string(n - 1) + " has '0.weight' float32[20, 12]"),
              std::string::npos)
        << message;
  }
  world().barrier();
}

TEST(Ddp, Bf16CompressionHalvesTheBytesAndTracksTheLoss) {
  RunConfig exact = run(100, 30, small_buckets());
  RunConfig compressed = exact;
  compressed.ddp.grad_compression = GradCompression::bf16;
  {
    auto model = testing_env::small_mlp(kInitSeed);
    DistributedDataParallel a(*model, world_group(), exact.ddp);
    auto other = testing_env::small_mlp(kInitSeed);
    DistributedDataParallel b(*other, world_group(), compressed.ddp);
    EXPECT_EQ(b.reducer().wire_bytes_per_step() * 2, a.reducer().wire_bytes_per_step());
  }
  std::vector<double> exact_losses = train_and_compare(OptimizerKind::adamw, exact);
  // Compressed training is not exact: it is held to the float32 run's loss, not its parameters.
  std::vector<double> bf16_losses = train_and_compare(OptimizerKind::adamw, compressed, 1.0);
  const double first = exact_losses.front(), last = exact_losses.back(),
               last_bf16 = bf16_losses.back();
  EXPECT_LT(last, first);
  EXPECT_LT(std::abs(last_bf16 - last), 0.05 * last)
      << "float32 loss " << last << ", bf16 loss " << last_bf16;
  if (world().rank() == 0) {
    std::printf(
        "[ bf16     ] loss after 20 AdamW steps at np %d: float32 %.6f, bf16 %.6f (start %.6f)\n",
        world().size(), last, last_bf16, first);
  }
}

}  // namespace
}  // namespace ddp::parallel
