#include "ddp/data/known_datasets.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ddp/core/error.hpp"
#include "temp_dir.hpp"

namespace ddp::data {
namespace {

// DDP_DATASETS_DIR pointed at a folder of this test's own, unset again afterwards.
class KnownDatasetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "fashion-mnist");
    setenv("DDP_DATASETS_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { unsetenv("DDP_DATASETS_DIR"); }
  std::string file(const std::string& name) { return (dir_ / "fashion-mnist" / name).string(); }
  void install(const std::string& name) { std::ofstream(file(name)) << "x"; }

  ddp::testing::TempDir scratch_{"ddp_known_datasets_"};
  const std::filesystem::path& dir_ = scratch_.path();
};

TEST_F(KnownDatasetsTest, NamesTheFilesOfEachPart) {
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    install(name);
  }
  EXPECT_EQ(datasets_dir(), dir_.string());
  for (const char* name : {"fashion-mnist", "fashion-mnist:train"}) {
    const std::optional<IdxPaths> train = find_known_dataset(name);
    ASSERT_TRUE(train.has_value()) << name;
    EXPECT_EQ(train->images, file("train-images-idx3-ubyte.gz"));
    EXPECT_EQ(train->labels, file("train-labels-idx1-ubyte.gz"));
  }
  const std::optional<IdxPaths> test = find_known_dataset("fashion-mnist:test");
  ASSERT_TRUE(test.has_value());
  EXPECT_EQ(test->images, file("t10k-images-idx3-ubyte.gz"));
  EXPECT_EQ(test->labels, file("t10k-labels-idx1-ubyte.gz"));
}

TEST_F(KnownDatasetsTest, OtherNamesAreNotKnown) {
  EXPECT_FALSE(find_known_dataset("synthetic").has_value());
  EXPECT_FALSE(find_known_dataset("idx:a,b").has_value());
  EXPECT_FALSE(find_known_dataset("mnist").has_value());
}

TEST_F(KnownDatasetsTest, AMissingFileSaysHowToInstallIt) {
  install("train-images-idx3-ubyte.gz");
  try {
    find_known_dataset("fashion-mnist");
    ADD_FAILURE() << "accepted";
  } catch (const InvalidArgument& error) {
    EXPECT_EQ(std::string(error.what()),
              "dataset 'fashion-mnist' is not installed (no " + file("train-labels-idx1-ubyte.gz") +
                  "); install it with launch/setup.sh --with-datasets (Debian's "
                  "dataset-fashion-mnist)");
  }
  EXPECT_THROW(find_known_dataset("fashion-mnist:test"), InvalidArgument);
}

TEST_F(KnownDatasetsTest, AnUnknownPartIsRefused) {
  try {
    find_known_dataset("fashion-mnist:val");
    ADD_FAILURE() << "accepted";
  } catch (const InvalidArgument& error) {
    EXPECT_EQ(std::string(error.what()),
              "dataset 'fashion-mnist:val': 'val' is not a part of fashion-mnist; use "
              "fashion-mnist:train or fashion-mnist:test");
  }
}

TEST(KnownDatasets, DefaultToWhereDebianInstallsThem) {
  unsetenv("DDP_DATASETS_DIR");
  EXPECT_EQ(datasets_dir(), "/usr/share/datasets");
}

}  // namespace
}  // namespace ddp::data
