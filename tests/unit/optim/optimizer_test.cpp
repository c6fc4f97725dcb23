#include <gtest/gtest.h>

#include <cmath>

#include "ddp/optim/adamw.hpp"
#include "ddp/optim/clip.hpp"
#include "ddp/optim/sgd.hpp"
#include "shared_weight_models.hpp"

namespace ddp::optim {
namespace {

// One parameter [2] = {1, -2} whose gradient is set by hand before each step.
struct Fixture {
  nn::Parameter param{"w", Tensor::from_vector<float>({1.0f, -2.0f}, {2}), Tensor::zeros({2}),
                      false};
  void set_grad(float a, float b) {
    param.grad.data<float>()[0] = a;
    param.grad.data<float>()[1] = b;
    param.has_grad = true;
  }
  float value(int i) const { return param.value.data<float>()[i]; }
};

// A step whose flag is set leaves parameters and state alone, for SGD and AdamW; the next one with
// the flag clear updates (SGD's momentum then starts as on a first step, as dampening is 0).
TEST(SkipFlag, ASetFlagMakesTheStepANoOp) {
  Fixture f, g;
  Sgd sgd({&f.param}, {.lr = 0.1, .momentum = 0.9});
  Adamw adamw({&g.param}, {.lr = 0.1});
  Tensor flag = Tensor::from_vector<float>({1.0f}, {1});
  sgd.set_skip_flag(flag);
  adamw.set_skip_flag(flag);
  f.set_grad(0.5f, NAN);
  g.set_grad(0.5f, NAN);
  sgd.step();
  adamw.step();
  EXPECT_EQ(f.value(0), 1.0f);
  EXPECT_EQ(f.value(1), -2.0f);
  EXPECT_EQ(g.value(1), -2.0f);
  flag.data<float>()[0] = 0.0f;
  f.set_grad(0.5f, 0.0f);
  sgd.step();
  EXPECT_NEAR(f.value(0), 1.0 - 0.1 * 0.5, 1e-7);
}

// PyTorch's SGD written out in double, for element 0 with gradient g each step.
TEST(Sgd, MomentumDampeningWeightDecayMatchHandComputedSteps) {
  Fixture f;
  Sgd sgd({&f.param}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
  // Step 1: d = 0.5 + 0.01 * 1 = 0.51, buf = d (no dampening on the first step), p = 0.949.
  // Step 2: d = 0.5 + 0.00949 = 0.50949, buf = 0.9 * 0.51 + 0.9 * 0.50949 = 0.917541,
  //         p = 0.949 - 0.0917541 = 0.8572459.
  // Step 3: d = 0.508572459, buf = 0.9 * 0.917541 + 0.9 * d = 1.2835021131, p = 0.72889568869.
  const double expected[] = {0.949, 0.8572459, 0.72889568869};
  for (double e : expected) {
    f.set_grad(0.5f, 0.0f);
    sgd.step();
    EXPECT_NEAR(f.value(0), e, 1e-6);
  }
  EXPECT_THROW(Sgd({&f.param}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
               InvalidArgument);
}

TEST(Sgd, NesterovAndPlainSteps) {
  Fixture f;
  Sgd nesterov({&f.param}, {.lr = 0.1, .momentum = 0.5, .nesterov = true});
  // Step 1: buf = 1, p = 1 - 0.1 * (1 + 0.5 * 1) = 0.85. Step 2: buf = 0.5 + 1 = 1.5,
  // p = 0.85 - 0.1 * (1 + 0.75) = 0.675.
  f.set_grad(1.0f, 0.0f);
  nesterov.step();
  EXPECT_NEAR(f.value(0), 0.85, 1e-7);
  f.set_grad(1.0f, 0.0f);
  nesterov.step();
  EXPECT_NEAR(f.value(0), 0.675, 1e-7);
  Fixture g;
  Sgd plain({&g.param}, {.lr = 0.5});
  g.set_grad(1.0f, 2.0f);
  plain.step();
  EXPECT_FLOAT_EQ(g.value(0), 0.5f);
  EXPECT_FLOAT_EQ(g.value(1), -3.0f);
  EXPECT_TRUE(plain.state().empty());
}

TEST(Sgd, ParametersWithoutGradientAreLeftAlone) {
  Fixture f;
  Sgd sgd({&f.param}, {.lr = 0.1, .momentum = 0.9});
  f.set_grad(1.0f, 1.0f);
  sgd.zero_grad();
  EXPECT_FALSE(f.param.has_grad);
  sgd.step();
  EXPECT_EQ(f.value(0), 1.0f);
  EXPECT_TRUE(sgd.state().empty());
}

TEST(Adamw, MatchesHandComputedSteps) {
  Fixture f;
  Adamw adamw({&f.param},
              {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01});
  double p = 1.0, m = 0.0, v = 0.0;
  const double grads[] = {0.5, -0.25, 1.0, 0.125};
  for (int t = 1; t <= 4; ++t) {
    const double g = grads[t - 1];
    p *= 1.0 - 0.1 * 0.01;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double m_hat = m / (1.0 - std::pow(0.9, t));
    const double v_hat = v / (1.0 - std::pow(0.999, t));
    p -= 0.1 * m_hat / (std::sqrt(v_hat) + 1e-8);
    f.set_grad(static_cast<float>(g), 0.0f);
    adamw.step();
    EXPECT_NEAR(f.value(0), p, 2e-6) << "step " << t;
  }
  // Step 1 by hand: p = 0.999 - 0.1 * 0.5 / sqrt(0.25) = 0.899.
  Fixture h;
  Adamw first({&h.param}, {.lr = 0.1, .weight_decay = 0.01});
  h.set_grad(0.5f, 0.0f);
  first.step();
  EXPECT_NEAR(h.value(0), 0.899, 1e-6);
}

template <typename Opt, typename Options>
void expect_state_round_trip(const Options& options) {
  Fixture a;
  Opt first({&a.param}, options);
  for (int i = 0; i < 2; ++i) {
    a.set_grad(0.3f, -0.7f);
    first.step();
  }
  Fixture b;
  b.param.value.copy_(a.param.value);
  Opt second({&b.param}, options);
  second.load_state(first.state());
  for (int i = 0; i < 2; ++i) {
    a.set_grad(0.1f * i, 0.2f);
    b.set_grad(0.1f * i, 0.2f);
    first.step();
    second.step();
  }
  EXPECT_EQ(a.param.value.to_vector<float>(), b.param.value.to_vector<float>());
  std::vector<NamedTensor> wrong = first.state();
  wrong[0].name += "x";
  EXPECT_THROW(second.load_state(wrong), Error);
}

TEST(OptimizerState, SaveThenLoadContinuesIdentically) {
  expect_state_round_trip<Sgd>(SgdOptions{.lr = 0.1, .momentum = 0.9});
  expect_state_round_trip<Adamw>(AdamwOptions{.lr = 0.01});
}

TEST(ClipGradNorm, ScalesAllGradientsByTheGlobalNorm) {
  Fixture a;
  Fixture b;
  Fixture c;
  a.set_grad(3.0f, 0.0f);
  b.set_grad(0.0f, 4.0f);
  c.set_grad(100.0f, 100.0f);
  c.param.has_grad = false;  // no gradient: counts as 0 and is not touched
  const std::vector<nn::Parameter*> params{&a.param, &b.param, &c.param};
  EXPECT_NEAR(clip_grad_norm(params, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(a.param.grad.data<float>()[0], 0.6f, 1e-6f);
  EXPECT_NEAR(b.param.grad.data<float>()[1], 0.8f, 1e-6f);
  EXPECT_EQ(c.param.grad.data<float>()[0], 100.0f);
  EXPECT_NEAR(clip_grad_norm(params, 10.0), 1.0, 1e-6);
  EXPECT_NEAR(a.param.grad.data<float>()[0], 0.6f, 1e-6f);
}

// Parameter groups: each group's weight decay, or the options' where the group has none. Each
// parameter ends where a one-group optimizer with that decay takes it; the update rules are hand
// checked above.
template <typename Rule, typename Options>
void expect_groups_take_their_own_decay(Options options) {
  Fixture decayed, kept, decayed_alone, kept_alone;
  Rule grouped(std::vector<ParamGroup>{{{&decayed.param}, std::nullopt}, {{&kept.param}, 0.0}},
               options);
  Rule decayed_reference({&decayed_alone.param}, options);
  options.weight_decay = 0.0;
  Rule kept_reference({&kept_alone.param}, options);
  for (int step = 0; step < 3; ++step) {
    for (Fixture* f : {&decayed, &kept, &decayed_alone, &kept_alone}) f->set_grad(0.5f, -0.25f);
    grouped.step();
    decayed_reference.step();
    kept_reference.step();
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(decayed.value(i), decayed_alone.value(i));
    EXPECT_EQ(kept.value(i), kept_alone.value(i));
  }
  EXPECT_NE(decayed.value(0), kept.value(0));  // the decay made a difference
  EXPECT_EQ(grouped.parameters(), (std::vector<nn::Parameter*>{&decayed.param, &kept.param}));
}

TEST(ParamGroups, EachGroupTakesItsOwnWeightDecay) {
  expect_groups_take_their_own_decay<Adamw>(AdamwOptions{.lr = 0.1, .weight_decay = 0.5});
  expect_groups_take_their_own_decay<Sgd>(
      SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.5});
}

TEST(ParamGroups, AParameterInTwoGroupsOrANegativeDecayIsRefused) {
  Fixture f, g;
  EXPECT_THROW(
      Adamw(std::vector<ParamGroup>{{{&f.param}, std::nullopt}, {{&f.param}, 0.0}}, AdamwOptions{}),
      InvalidArgument);
  EXPECT_THROW(Sgd(std::vector<ParamGroup>{{{&f.param}, -1.0}}, SgdOptions{}), InvalidArgument);
  EXPECT_NO_THROW(Sgd(std::vector<ParamGroup>{{{&f.param}, 0.0}, {{&g.param}, 1.0}}, SgdOptions{}));
}

// A tied weight (lm_head = wte) is one parameter: the global norm counts its summed gradient once,
// as torch's clip_grad_norm_ over model.parameters() does. The hand sum takes the two uses'
// gradients from an untied twin.
TEST(ClipGradNorm, SeesATiedWeightOnce) {
  testing_models::TiedLanguageModel tied(7, 4, 1, true, 3), untied(7, 4, 1, false, 3);
  const Tensor tokens = Tensor::from_vector<std::int64_t>({1, 6, 1, 0, 3, 6}, {2, 3});
  std::vector<float> upstream(2 * 3 * 7);
  for (std::size_t i = 0; i < upstream.size(); ++i) upstream[i] = std::sin(0.7f * i);
  const Tensor dy = Tensor::from_vector(upstream, {2, 3, 7});
  for (nn::Module* model : std::vector<nn::Module*>{&tied, &untied}) {
    model->zero_grad();
    model->forward(tokens);
    model->backward(dy);
  }
  double squared = 0;
  const std::vector<float> embedding = untied.wte().weight().grad.to_vector<float>();
  const std::vector<float> head = untied.lm_head().weight().grad.to_vector<float>();
  for (std::size_t i = 0; i < embedding.size(); ++i) {
    squared += std::pow(static_cast<double>(embedding[i]) + head[i], 2);
  }
  for (nn::Parameter* param : untied.parameters()) {
    if (param == &untied.wte().weight() || param == &untied.lm_head().weight()) continue;
    for (float g : param->grad.to_vector<float>()) squared += static_cast<double>(g) * g;
  }
  ASSERT_EQ(tied.parameters().size() + 1, untied.parameters().size());
  EXPECT_NEAR(clip_grad_norm(tied.parameters(), 1e-3), std::sqrt(squared),
              1e-5 * std::sqrt(squared));
  EXPECT_NEAR(clip_grad_norm(tied.parameters(), 1e9), 1e-3, 1e-8);  // clipped to the norm asked
}

}  // namespace
}  // namespace ddp::optim
