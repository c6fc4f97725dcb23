#include "ddp/models/gpt.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "ddp/models/registry.hpp"
#include "expect_error.hpp"

namespace ddp::models {
namespace {

double standard_deviation(const Tensor& t) {
  const std::vector<float> values = t.to_vector<float>();
  double sum = 0, squares = 0;
  for (float v : values) {
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(values.size());
  return std::sqrt(squares / n - (sum / n) * (sum / n));
}

TEST(Gpt, HasNanoGptsParametersWithLmHeadTiedToTheTokenEmbedding) {
  Model model = build_model("gpt:layers=2,heads=2,dim=8,context=5,vocab=11");
  EXPECT_EQ(model.signature.sample_shape, (Shape{5}));
  EXPECT_EQ(model.signature.sequence, 5);
  EXPECT_EQ(model.signature.classes, 11);
  std::map<std::string, Shape> shapes;
  std::vector<std::string> names;
  for (const NamedTensor& entry : model.module->state_dict()) {
    names.push_back(entry.name);
    shapes[entry.name] = entry.tensor.shape();
  }
  ASSERT_EQ(names.size(), 2u + 2 * 12 + 2);  // embeddings, 12 per block, ln_f; lm_head tied
  EXPECT_EQ(names[0], "transformer.wte.weight");
  EXPECT_EQ(names[1], "transformer.wpe.weight");
  EXPECT_EQ(names[2], "transformer.h.0.ln_1.weight");
  EXPECT_EQ(names.back(), "transformer.ln_f.bias");
  EXPECT_EQ(shapes["transformer.wte.weight"], (Shape{11, 8}));
  EXPECT_EQ(shapes["transformer.wpe.weight"], (Shape{5, 8}));
  EXPECT_EQ(shapes["transformer.h.1.attn.c_attn.weight"], (Shape{24, 8}));
  EXPECT_EQ(shapes["transformer.h.1.attn.c_proj.bias"], (Shape{8}));
  EXPECT_EQ(shapes["transformer.h.1.mlp.c_fc.weight"], (Shape{32, 8}));
  EXPECT_EQ(shapes["transformer.h.1.mlp.c_proj.weight"], (Shape{8, 32}));
  const auto tied = model.module->tied_names();
  ASSERT_EQ(tied.size(), 1u);
  EXPECT_EQ(tied[0],
            (std::pair<std::string, std::string>{"lm_head.weight", "transformer.wte.weight"}));
}

TEST(Gpt, InitialisesAsGpt2) {
  // 4 layers: the residual projections draw from normal(0, 0.02 / sqrt(8)).
  Model model = build_model("gpt:layers=4,heads=4,dim=64,context=16", {.seed = 3});
  for (nn::Parameter* param : model.module->parameters()) {
    const std::string& name = param->name;
    const std::vector<float> values = param->value.to_vector<float>();
    if (name.ends_with(".bias")) {
      for (float v : values) ASSERT_EQ(v, 0.0f) << name;
    } else if (name.find("ln_") != std::string::npos) {
      for (float v : values) ASSERT_EQ(v, 1.0f) << name;
    } else {
      const double expected = name.ends_with("c_proj.weight") ? 0.02 / std::sqrt(8.0) : 0.02;
      EXPECT_NEAR(standard_deviation(param->value), expected, 0.1 * expected) << name;
    }
  }
  // The same seed, the same replica.
  Model again = build_model("gpt:layers=4,heads=4,dim=64,context=16", {.seed = 3});
  EXPECT_EQ(again.module->parameters()[5]->value.to_vector<float>(),
            model.module->parameters()[5]->value.to_vector<float>());
}

TEST(Gpt, TakesSequencesUpToItsContext) {
  Model model = build_model("gpt:layers=1,heads=2,dim=8,context=4,vocab=7");
  const Tensor tokens = Tensor::from_vector<std::int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(model.module->forward(tokens).shape(), (Shape{2, 3, 7}));
  testing::expect_error_with(
      [&] {
        model.module->forward(Tensor::zeros({1, 5}, DType::int64));
      },
      {"context 4", "5 tokens", "crop them to at most 4"});
  testing::expect_error_with(
      [&] {
        model.module->forward(Tensor::zeros({1, 4}));
      },
      {"int64 tokens [batch, sequence]"});
}

TEST(Gpt, RefusesBadSpecsNamingWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"gpt:layers=2,heads=2,dim=16", "'context' is missing"},
      {"gpt:layers=2,heads=4,dim=30,context=8", "dim 30 is not a multiple of heads 4"},
      {"gpt:depth=2,heads=2,dim=16,context=8", "unknown key 'depth'"},
      {"gpt:layers=2,layers=3,heads=2,dim=16,context=8", "'layers' is given twice"},
      {"gpt:layers=0,heads=2,dim=16,context=8", "'layers=0' is not KEY=POSITIVE_INTEGER"},
      {"gpt:layers=2,heads,dim=16,context=8", "'heads' is not KEY=POSITIVE_INTEGER"},
      {"gpt:", "'' is not KEY=POSITIVE_INTEGER"},
      {"gpt:layers=1,heads=1,dim=4,context=4,vocab=1", "vocab 1 leaves nothing to predict"},
  };
  for (const auto& [spec, reason] : cases) {
    try {
      build_model(spec);
      ADD_FAILURE() << spec << " was accepted";
    } catch (const InvalidOption& error) {
      EXPECT_EQ(error.option(), "model");
      EXPECT_EQ(error.value(), spec);
      EXPECT_NE(error.reason().find(reason), std::string::npos) << error.reason();
    }
  }
}

}  // namespace
}  // namespace ddp::models
