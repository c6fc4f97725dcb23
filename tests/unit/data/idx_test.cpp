#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ddp/data/idx.hpp"

namespace ddp::data {
namespace {

using Bytes = std::vector<unsigned char>;

void put_u32(Bytes& bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<unsigned char>(value >> shift));
}

Bytes images_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, std::size_t pixels,
                  std::uint32_t magic = 0x00000803) {
  Bytes bytes;
  put_u32(bytes, magic);
  put_u32(bytes, count);
  put_u32(bytes, rows);
  put_u32(bytes, cols);
  for (std::size_t p = 0; p < pixels; ++p)
    bytes.push_back(static_cast<unsigned char>(p * 17 % 256));
  return bytes;
}

Bytes labels_file(const Bytes& labels, std::uint32_t magic = 0x00000801) {
  Bytes bytes;
  put_u32(bytes, magic);
  put_u32(bytes, static_cast<std::uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ddp_idx_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    images_ = (dir_ / "train-images.idx3-ubyte").string();
    labels_ = (dir_ / "train-labels.idx1-ubyte").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const Bytes& images, const Bytes& labels) {
    std::ofstream(images_, std::ios::binary)
        .write(reinterpret_cast<const char*>(images.data()),
               static_cast<std::streamsize>(images.size()));
    std::ofstream(labels_, std::ios::binary)
        .write(reinterpret_cast<const char*>(labels.data()),
               static_cast<std::streamsize>(labels.size()));
  }

  // Loading fails with exactly `message`.
  void expect_refused(const Bytes& images, const Bytes& labels, const std::string& message) {
    write(images, labels);
    try {
      load_idx(images_, labels_);
      ADD_FAILURE() << "accepted";
    } catch (const InvalidArgument& error) {
      EXPECT_EQ(std::string(error.what()), message);
    }
  }

  std::filesystem::path dir_;
  std::string images_;
  std::string labels_;
};

TEST_F(IdxTest, ReadsImagesScaledToUnitRangeAndLabels) {
  write(images_file(3, 2, 2, 12), labels_file({7, 0, 9}));
  const TensorDataset dataset = load_idx(images_, labels_);
  EXPECT_EQ(dataset.size(), 3);
  EXPECT_EQ(dataset.feature_count(), 4);
  EXPECT_EQ(dataset.class_count(), 10);
  const std::vector<float> pixels = dataset.features().to_vector<float>();
  for (std::size_t p = 0; p < pixels.size(); ++p)
    EXPECT_FLOAT_EQ(pixels[p], (p * 17 % 256) / 255.0f);
  EXPECT_EQ(dataset.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 0, 9}));
}

TEST_F(IdxTest, RefusesTheWrongMagic) {
  expect_refused(images_file(1, 2, 2, 4, 0x00000802), labels_file({1}),
                 images_ + ": magic 0x00000802 is not an IDX image file (expected 0x00000803)");
  expect_refused(images_file(1, 2, 2, 4), labels_file({1}, 0x00000803),
                 labels_ + ": magic 0x00000803 is not an IDX label file (expected 0x00000801)");
}

TEST_F(IdxTest, SaysWhenAFileIsStillGzipped) {
  expect_refused({0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0}, labels_file({1}),
                 images_ +
                     ": magic 0x1f8b0808 is not an IDX image file (expected 0x00000803); "
                     "it is gzip-compressed: gunzip it first");
}

TEST_F(IdxTest, RefusesShortHeadersAndZeroDimensions) {
  expect_refused({0, 0}, labels_file({1}), images_ + ": file ends inside the header (magic)");
  expect_refused({0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, labels_file({1}),
                 images_ + ": file ends inside the header (dimensions)");
  expect_refused(images_file(1, 0, 2, 0), labels_file({1}),
                 images_ + ": dimension 'rows' is 0 (dimensions)");
  expect_refused({}, labels_file({1}), images_ + ": empty file");
}

TEST_F(IdxTest, RefusesTruncatedAndTrailingData) {
  expect_refused(images_file(3, 2, 2, 11), labels_file({1, 2, 3}),
                 images_ +
                     ": header promises 3 x 2 x 2 bytes of data (28 bytes in all) but the "
                     "file has 27 bytes (truncated data)");
  expect_refused(images_file(3, 2, 2, 13), labels_file({1, 2, 3}),
                 images_ +
                     ": header promises 3 x 2 x 2 bytes of data (28 bytes in all) but the "
                     "file has 29 bytes (trailing data)");
  Bytes short_labels = labels_file({1, 2, 3});
  short_labels.pop_back();
  expect_refused(images_file(3, 2, 2, 12), short_labels,
                 labels_ +
                     ": header promises 3 bytes of data (11 bytes in all) but the file has "
                     "10 bytes (truncated data)");
}

TEST_F(IdxTest, AHostileHeaderIsRefusedBeforeAnyAllocation) {
  expect_refused(images_file(0xffffffff, 0xffffffff, 0xffffffff, 0), labels_file({1}),
                 images_ +
                     ": header promises 4294967295 x 4294967295 x 4294967295 bytes of data "
                     "(more than 2^64 bytes in all) but the file has 16 bytes (truncated data)");
  expect_refused(images_file(60000, 28, 28, 4), labels_file({1}),
                 images_ +
                     ": header promises 60000 x 28 x 28 bytes of data (47040016 bytes in "
                     "all) but the file has 20 bytes (truncated data)");
}

TEST_F(IdxTest, RefusesCountMismatchesAndLabelsOutOfRange) {
  expect_refused(images_file(3, 2, 2, 12), labels_file({1, 2}),
                 images_ + " has 3 images but " + labels_ + " has 2 labels");
  expect_refused(images_file(3, 2, 2, 12), labels_file({1, 12, 3}),
                 labels_ + ": label 12 at index 1 outside [0, 10)");
}

}  // namespace
}  // namespace ddp::data
