#include "ddp/io/params.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ddp/io/safetensors.hpp"
#include "ddp/nn/embedding.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/sequential.hpp"

namespace ddp::io {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".bin"))
      .string();
}

std::unique_ptr<nn::Sequential> mlp(std::uint64_t seed) {
  Generator generator(seed);
  auto model = std::make_unique<nn::Sequential>();
  model->emplace<nn::Linear>(3, 4, generator);
  model->emplace<nn::Linear>(4, 2, generator);
  return model;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
}

TEST(Params, ExportThenImportRoundTripsEveryValue) {
  auto source = mlp(1);
  auto target = mlp(2);
  const std::string path = temp_path("ddp_params_round_trip");
  export_parameters(source->parameters(), path);
  EXPECT_EQ(static_cast<std::int64_t>(std::filesystem::file_size(path)),
            parameter_bytes(source->parameters()));
  import_parameters(target->parameters(), path);
  for (std::size_t i = 0; i < source->parameters().size(); ++i) {
    EXPECT_EQ(source->parameters()[i]->value.to_vector<float>(),
              target->parameters()[i]->value.to_vector<float>());
  }
  std::remove(path.c_str());
}

TEST(Params, LayoutIsWeightRowMajorThenBiasPerLayer) {
  auto model = mlp(3);
  const std::string path = temp_path("ddp_params_layout");
  export_parameters(model->parameters(), path);
  std::ifstream in(path, std::ios::binary);
  std::vector<float> raw(3 * 4 + 4 + 4 * 2 + 2);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size() * 4));
  auto& first = dynamic_cast<nn::Linear&>((*model)[0]);
  EXPECT_EQ(raw[1], first.weight().value.data<float>()[1]);  // weight[0][1]
  EXPECT_EQ(raw[12], first.bias()->value.data<float>()[0]);  // bias after 12 weights
  auto& second = dynamic_cast<nn::Linear&>((*model)[1]);
  EXPECT_EQ(raw[16], second.weight().value.data<float>()[0]);
  std::remove(path.c_str());
}

TEST(Params, ImportOfAnotherArchitectureSaysSo) {
  auto model = mlp(4);
  const std::string path = temp_path("ddp_params_mismatch");
  export_parameters(model->parameters(), path);
  Generator generator(5);
  nn::Linear other(3, 5, generator);
  try {
    import_parameters(other.parameters(), path);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("another architecture"), std::string::npos);
  }
  EXPECT_THROW(import_parameters(model->parameters(), path + ".missing"), Error);
  std::remove(path.c_str());
}

// An embedding, a Linear with a buffer beside it, and an output layer tied to the embedding.
class TiedWithBuffer : public nn::Module {
 public:
  explicit TiedWithBuffer(std::uint64_t seed)
      : generator_(seed), wte_(5, 3, generator_), head_(3, 5, generator_, false) {
    register_module("wte", wte_);
    register_module("head", head_);
    Tensor& steps = register_buffer("steps", Tensor::zeros({}, DType::int64)).value;
    steps.data<std::int64_t>()[0] = static_cast<std::int64_t>(seed);
    head_.tie_parameter("weight", wte_, "weight");
  }

 protected:
  Tensor forward_impl(const Tensor& x) override { return head_.forward(wte_.forward(x)); }
  Tensor backward_impl(const Tensor& dy) override { return wte_.backward(head_.backward(dy)); }

 private:
  Generator generator_;
  nn::Embedding wte_;
  nn::Linear head_;
};

std::string import_error(nn::Module& model, const std::string& path) {
  try {
    import_model(model, path);
  } catch (const InvalidArgument& error) {
    return error.what();
  }
  return "(imported without error)";
}

TEST(ExportModel, SafetensorsRoundTripsTheStateDictByName) {
  TiedWithBuffer source(1), target(2);
  const std::string path = temp_path("ddp_model") + ".safetensors";
  export_model(source, path, {{"model", "tied"}});
  const SafetensorsContents file = read_safetensors(path);
  // As PyTorch's state_dict(): the root's buffer, then its children's; the tied weight once.
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "steps");
  EXPECT_EQ(file.tensors[1].name, "wte.weight");
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("model"), "tied");
  import_model(target, path);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(same_bytes(source.state_dict()[i].tensor, target.state_dict()[i].tensor)) << i;
  }
  std::remove(path.c_str());
}

TEST(ImportModel, TakesATiedTensorUnderAnyOfItsNamesAsPyTorchSavesIt) {
  TiedWithBuffer source(3), target(4);
  const std::string path = temp_path("ddp_model_aliases") + ".safetensors";
  // PyTorch's state_dict() lists the tied weight twice: "wte.weight" and "head.weight".
  std::vector<NamedTensor> both = source.state_dict();  // steps, wte.weight
  both.push_back({"head.weight", both[1].tensor});
  write_safetensors(path, both);
  import_model(target, path);
  EXPECT_TRUE(same_bytes(source.state_dict()[1].tensor, target.state_dict()[1].tensor));
  // Only under the other name, as a file of the output layer's weight would hold it.
  write_safetensors(path, {both[0], {"head.weight", both[1].tensor}});
  TiedWithBuffer third(5);
  import_model(third, path);
  EXPECT_TRUE(same_bytes(source.state_dict()[1].tensor, third.state_dict()[1].tensor));
  std::remove(path.c_str());
}

TEST(ImportModel, RefusesAnotherArchitectureNamingTheTensorAndLoadsNothing) {
  TiedWithBuffer source(6), target(7);
  const std::string path = temp_path("ddp_model_strict") + ".safetensors";
  const std::vector<NamedTensor> state = source.state_dict();  // steps, wte.weight
  const Tensor before = target.state_dict()[1].tensor.clone();

  write_safetensors(path, {state[1]});
  EXPECT_NE(import_error(target, path)
                .find(path + ": tensor 'steps' of this model is not in the "
                             "file"),
            std::string::npos)
      << import_error(target, path);

  write_safetensors(path, {state[0], state[1], {"extra.bias", Tensor::zeros({2})}});
  EXPECT_NE(import_error(target, path).find("tensor 'extra.bias' is not in this model"),
            std::string::npos)
      << import_error(target, path);

  write_safetensors(path, {state[0], {"wte.weight", Tensor::zeros({3, 5})}});
  EXPECT_NE(import_error(target, path)
                .find("tensor 'wte.weight' is float32[3, 5] there but "
                      "float32[5, 3] in this model"),
            std::string::npos)
      << import_error(target, path);

  write_safetensors(path, {{"steps", Tensor::zeros({}, DType::float32)}, state[1]});
  EXPECT_NE(import_error(target, path).find("tensor 'steps' is float32[] there but int64[]"),
            std::string::npos)
      << import_error(target, path);
  EXPECT_TRUE(same_bytes(target.state_dict()[1].tensor, before));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ddp::io
