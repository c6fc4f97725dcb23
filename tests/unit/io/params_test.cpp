#include "ddp/io/params.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace ddp::io
