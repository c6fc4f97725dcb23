// ShardedOptimizer against the unsharded optimizer it wraps: two replicas trained side by side on
// every rank, on the same slices, one sharded and one not, must hold the same parameters bit for
// bit after every step, report the same state, and agree on non-finite gradients and clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
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
#include "ddp/optim/clip.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/sharded_optimizer.hpp"
#include "mpi_test_env.hpp"
#include "small_mlp.hpp"

namespace ddp::parallel {
namespace {

using testing_env::kClasses;
using testing_env::kFeatures;
using testing_env::world;

// adamw_groups: AdamW decaying the weight matrices only (biases in a group of decay 0), so that
// the blocks are cut where a bias meets a matrix.
enum class Rule { sgd, sgd_nesterov_decay, adamw, sgd_bf16, adamw_groups };

std::unique_ptr<optim::Optimizer> make_optimizer(Rule rule, std::vector<optim::ParamGroup> params) {
  switch (rule) {
    case Rule::adamw:
    case Rule::adamw_groups:
      return std::make_unique<optim::Adamw>(std::move(params),
                                            optim::AdamwOptions{.lr = 1e-2, .weight_decay = 0.1});
    case Rule::sgd_nesterov_decay:
      return std::make_unique<optim::Sgd>(
          std::move(params),
          optim::SgdOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
    default:
      return std::make_unique<optim::Sgd>(std::move(params),
                                          optim::SgdOptions{.lr = 0.05, .momentum = 0.9});
  }
}

// Several small buckets, whose blocks cut parameters in the middle at every world size above 1.
// One group for the whole model, or adamw_groups' two.
std::vector<optim::ParamGroup> groups_of(Rule rule, const std::vector<nn::Parameter*>& params) {
  if (rule != Rule::adamw_groups) return {{params, std::nullopt}};
  optim::ParamGroup matrices{{}, std::nullopt}, vectors{{}, 0.0};
  for (nn::Parameter* param : params) {
    (param->value.ndim() >= 2 ? matrices : vectors).params.push_back(param);
  }
  return {matrices, vectors};
}

DdpOptions ddp_options(Rule rule, bool sharded) {
  DdpOptions options;
  options.first_bucket_cap_mb = 0.5 / 1024;
  options.bucket_cap_mb = 2.0 / 1024;
  options.sharded_optimizer = sharded;
  if (rule == Rule::sgd_bf16) options.grad_compression = GradCompression::bf16;
  return options;
}

// One replica: a model, its DDP and its optimizer (sharded or not).
struct Replica {
  Replica(Rule rule, bool sharded)
      : model(testing_env::small_mlp(7)),
        ddp(*model, testing_env::runtime->world(), ddp_options(rule, sharded)) {
    if (sharded) {
      auto wrapper = std::make_unique<ShardedOptimizer>(
          ddp,
          [rule](std::vector<optim::ParamGroup> blocks) {
            return make_optimizer(rule, std::move(blocks));
          },
          groups_of(rule, model->parameters()));
      sharded_optimizer = wrapper.get();
      optimizer = std::move(wrapper);
    } else {
      optimizer = make_optimizer(rule, groups_of(rule, model->parameters()));
    }
  }

  void forward_backward(const data::Batch& batch) {
    nn::CrossEntropyLoss criterion;
    criterion.forward(ddp.forward(batch.features), batch.labels, batch.global_n);
    ddp.backward(criterion.backward());
    ddp.finish();
  }
  void step() {
    optimizer->step();
    optimizer->zero_grad();
  }

  std::unique_ptr<nn::Sequential> model;
  DistributedDataParallel ddp;
  std::unique_ptr<optim::Optimizer> optimizer;
  ShardedOptimizer* sharded_optimizer = nullptr;
};

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(),
                     static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

void expect_same_parameters(Replica& actual, Replica& expected, const std::string& when) {
  auto a = actual.model->parameters();
  auto e = expected.model->parameters();
  ASSERT_EQ(a.size(), e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(same_bits(a[i]->value, e[i]->value))
        << when << ": parameter " << a[i]->name << " on rank " << world().rank();
  }
}

void expect_same_state(const optim::Optimizer& actual, const optim::Optimizer& expected) {
  const auto a = actual.state();
  const auto e = expected.state();
  ASSERT_EQ(a.size(), e.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, e[i].name);
    EXPECT_TRUE(same_bits(a[i].tensor, e[i].tensor)) << a[i].name;
  }
}

// Batches of 30 over 100 samples: uneven slices, and empty ones at 8 ranks.
struct Batches {
  data::SyntheticClassification dataset{100, kFeatures, kClasses, 11};
  data::GlobalBatchSampler sampler{
      dataset.size(), {.global_batch_size = 30, .seed = 3}, world().rank(), world().size()};
  data::Batch at(int step) {
    const std::int64_t per_epoch = sampler.batches_per_epoch();
    return data::collate(dataset, sampler.plan(step / per_epoch, step % per_epoch));
  }
};

class ShardedMatchesUnsharded : public ::testing::TestWithParam<Rule> {};

TEST_P(ShardedMatchesUnsharded, EveryStepBitForBitWithTheSameState) {
  Batches batches;
  Replica sharded(GetParam(), true), plain(GetParam(), false);
  for (int step = 0; step < 12; ++step) {
    const data::Batch batch = batches.at(step);
    sharded.forward_backward(batch);
    plain.forward_backward(batch);
    sharded.step();
    plain.step();
    expect_same_parameters(sharded, plain, "step " + std::to_string(step + 1));
  }
  expect_same_state(*sharded.optimizer, *plain.optimizer);
}

INSTANTIATE_TEST_SUITE_P(Rules, ShardedMatchesUnsharded,
                         ::testing::Values(Rule::sgd, Rule::sgd_nesterov_decay, Rule::adamw,
                                           Rule::sgd_bf16, Rule::adamw_groups),
                         [](const auto& test) {
                           switch (test.param) {
                             case Rule::sgd:
                               return "Sgd";
                             case Rule::sgd_nesterov_decay:
                               return "SgdNesterovDecay";
                             case Rule::adamw:
                               return "AdamW";
                             case Rule::adamw_groups:
                               return "AdamWDecayingMatricesOnly";
                             default:
                               return "SgdBf16";
                           }
                         });

// Also where the blocks are cut at the groups' boundaries: the state is reassembled per parameter.
TEST(ShardedOptimizer, ResumesFromAnUnshardedStateAsTheUnshardedWould) {
  for (Rule rule : {Rule::adamw, Rule::adamw_groups}) {
    Batches batches;
    Replica sharded(rule, true), plain(rule, false);
    for (int step = 0; step < 4; ++step) {
      plain.forward_backward(batches.at(step));
      plain.step();
    }
    // As a resume does: the parameters and the optimizer state of a checkpoint.
    auto to = sharded.model->parameters();
    auto from = plain.model->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) to[i]->value.copy_(from[i]->value);
    sharded.optimizer->load_state(plain.optimizer->state());
    for (int step = 4; step < 8; ++step) {
      sharded.forward_backward(batches.at(step));
      plain.forward_backward(batches.at(step));
      sharded.step();
      plain.step();
      expect_same_parameters(sharded, plain, "step " + std::to_string(step + 1));
    }
    expect_same_state(*sharded.optimizer, *plain.optimizer);
  }
}

TEST(ShardedOptimizer, PartialStateIsAnErrorNamingTheWayOut) {
  Replica sharded(Rule::sgd, true), plain(Rule::sgd, false);
  Batches batches;
  plain.forward_backward(batches.at(0));
  plain.step();
  auto state = plain.optimizer->state();
  state.pop_back();  // one parameter's momentum missing
  try {
    sharded.optimizer->load_state(state);
    FAIL() << "a state missing a parameter of a bucket must be refused";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("DdpOptions::sharded_optimizer off"),
              std::string::npos)
        << error.what();
  }
}

TEST(ShardedOptimizer, NonFiniteGradientOfOneRankIsSeenByAll) {
  Batches batches;
  Replica sharded(Rule::sgd, true);
  sharded.forward_backward(batches.at(0));
  EXPECT_TRUE(sharded.sharded_optimizer->gradients_finite());
  // The last rank spoils one summed gradient of its own block.
  if (world().rank() == world().size() - 1) {
    const Reducer::Shard mine = sharded.ddp.reducer().shard(0);
    sharded.ddp.reducer().gradient_buckets()[0].data<float>()[mine.offset] =
        std::numeric_limits<float>::quiet_NaN();
  }
  EXPECT_FALSE(sharded.sharded_optimizer->gradients_finite()) << "rank " << world().rank();
}

TEST(ShardedOptimizer, ClippingMatchesTheUnsharded) {
  Batches batches;
  Replica sharded(Rule::sgd, true), plain(Rule::sgd, false);
  for (int step = 0; step < 3; ++step) {
    sharded.forward_backward(batches.at(step));
    plain.forward_backward(batches.at(step));
    const double sharded_norm = sharded.sharded_optimizer->clip_grad_norm(0.05);
    const double plain_norm = optim::clip_grad_norm(plain.model->parameters(), 0.05);
    // The same squares summed in another order.
    EXPECT_NEAR(sharded_norm, plain_norm, 1e-12 * plain_norm);
    EXPECT_GT(plain_norm, 0.05) << "the test must clip";
    sharded.step();
    plain.step();
  }
  auto a = sharded.model->parameters();
  auto e = plain.model->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::int64_t j = 0; j < a[i]->value.numel(); ++j) {
      ASSERT_NEAR(a[i]->value.data<float>()[j], e[i]->value.data<float>()[j], 1e-6)
          << a[i]->name << " element " << j;
    }
  }
}

TEST(ShardedOptimizer, RanksOfANodeShareOneCopyOfTheParameters) {
  Replica sharded(Rule::sgd, true);
  const char* shared_memory = std::getenv("DDP_SHARED_MEMORY");
  const bool expected = shared_memory == nullptr || std::string(shared_memory) != "0";
  ASSERT_EQ(sharded.sharded_optimizer->shares_parameters(), expected);
  if (!expected) return;
  // What the last rank writes to a parameter is every rank's parameter.
  float& element = sharded.model->parameters()[0]->value.data<float>()[0];
  const float before = element;
  world().barrier();
  if (world().rank() == world().size() - 1) element = before + 1.0f;
  world().barrier();
  const float after = element;
  world().barrier();
  EXPECT_EQ(after, before + 1.0f) << "rank " << world().rank();
}

TEST(ShardedOptimizer, NeedsAShardedDdpAndEveryParameterUsed) {
  auto model = testing_env::small_mlp(7);
  DistributedDataParallel ddp(*model, testing_env::runtime->world(), ddp_options(Rule::sgd, false));
  EXPECT_THROW(ShardedOptimizer(ddp,
                                [](std::vector<optim::ParamGroup> blocks) {
                                  return make_optimizer(Rule::sgd, std::move(blocks));
                                }),
               Error);
  auto other = testing_env::small_mlp(7);
  DdpOptions options = ddp_options(Rule::sgd, true);
  options.find_unused_parameters = true;
  EXPECT_THROW(DistributedDataParallel(*other, testing_env::runtime->world(), options),
               InvalidArgument);
}

}  // namespace
}  // namespace ddp::parallel
