#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ddp/data/csv.hpp"

namespace ddp::data {
namespace {

class CsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ddp_csv_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text) {
    const std::string path = (dir_ / "data.csv").string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Loading `text` fails with exactly `message` after "<path>".
  void expect_refused(const std::string& text, const std::string& message,
                      const CsvOptions& options = {}) {
    const std::string path = write(text);
    try {
      load_csv(path, options);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InvalidArgument& error) {
      EXPECT_EQ(std::string(error.what()), path + message);
    }
  }

  std::filesystem::path dir_;
};

TEST_F(CsvTest, ReadsLabelsAndFeaturesWithHeaderCrlfAndNoFinalNewline) {
  const std::string path = write("label,a,b\r\n1,0.5,-2\r\n\r\n0, 3e1 ,+4\r\n2,1,1");
  const TensorDataset dataset = load_csv(path, {.class_count = 3});
  EXPECT_EQ(dataset.size(), 3);
  EXPECT_EQ(dataset.feature_count(), 2);
  EXPECT_EQ(dataset.class_count(), 3);
  EXPECT_EQ(dataset.features().to_vector<float>(), (std::vector<float>{0.5f, -2, 30, 4, 1, 1}));
  EXPECT_EQ(dataset.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0, 2}));
}

TEST_F(CsvTest, AByteOrderMarkDoesNotHideTheFirstSample) {
  const TensorDataset dataset =
      load_csv(write("\xEF\xBB\xBF"
                     "1,2\n0,3\n"));
  EXPECT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));
}

TEST_F(CsvTest, WithoutHeaderInfersColumnsAndClasses) {
  const TensorDataset dataset = load_csv(write("4,1,2,3\n0,4,5,6\n"));
  EXPECT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.feature_count(), 3);
  EXPECT_EQ(dataset.class_count(), 5);
}

TEST_F(CsvTest, RefusesWrongColumnCounts) {
  expect_refused("1,2,3,4\n0,1,2,3\n1,2,3\n", ":3: expected 4 columns, found 3");
  expect_refused("1,2,3\n", ":1: expected 785 columns, found 3", {.feature_count = 784});
  expect_refused("label,a,b\n1,2,3,4\n", ":2: expected 3 columns, found 4");
  expect_refused("label\n", ":1: expected a label and at least one feature, found 1 column");
}

TEST_F(CsvTest, RefusesNonNumbers) {
  expect_refused("1,2,3,4\n0,1,2,3\n1,2,3,abc\n", ":3: 'abc' is not a number (column 4)");
  expect_refused("1,2,,4\n", ":1: '' is not a number (column 3)");
  expect_refused("1,2,3x\n", ":1: '3x' is not a number (column 3)");
  expect_refused("1,nan,3\n", ":1: 'nan' is not a finite number (column 2)");
  expect_refused("1,1e60,3\n", ":1: '1e60' is not a finite number (column 2)");
  expect_refused("1,2\n1.5,2\n", ":2: label '1.5' is not an integer");
}

TEST_F(CsvTest, RefusesLabelsOutsideTheClasses) {
  expect_refused("1,2\n12,3\n", ":2: label 12 outside [0, 10)", {.class_count = 10});
  expect_refused("1,2\n-1,3\n", ":2: label -1 outside [0, inf)");
}

TEST_F(CsvTest, RefusesEmptyFiles) {
  expect_refused("", ": empty file");
  expect_refused("\n\r\n  \n", ": empty file");
  expect_refused("label,x\n", ": no samples after the header line");
}

TEST_F(CsvTest, RefusesAMissingFile) {
  const std::string path = (dir_ / "missing.csv").string();
  try {
    load_csv(path);
    ADD_FAILURE() << "opened a missing file";
  } catch (const InvalidArgument& error) {
    EXPECT_EQ(std::string(error.what()), path + ": cannot open (No such file or directory)");
  }
}

}  // namespace
}  // namespace ddp::data
