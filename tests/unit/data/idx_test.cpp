#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

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

// bytes as a gzip file (one member), by zlib's deflate: the reader's oracle is the plain file.
Bytes gzip(const Bytes& bytes) {
  z_stream stream{};
  constexpr int kGzipWindowBits = 15 + 16;
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  Bytes out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32);
  stream.next_in = const_cast<unsigned char*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

Bytes concatenated(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
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

  // Loading fails with exactly `message`, or one that starts with it when `prefix_only`.
  void expect_refused(const Bytes& images, const Bytes& labels, const std::string& message,
                      bool prefix_only = false) {
    write(images, labels);
    try {
      load_idx(images_, labels_);
      ADD_FAILURE() << "accepted";
    } catch (const InvalidArgument& error) {
      const std::string what = error.what();
      EXPECT_EQ(prefix_only ? what.substr(0, message.size()) : what, message) << what;
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
  // One channel of 2 x 2 pixels: a batch of these is [n, 1, 2, 2].
  EXPECT_EQ(dataset.sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(dataset.features().shape(), (Shape{3, 1, 2, 2}));
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

TEST_F(IdxTest, ReadsGzipFilesAsThePlainOnes) {
  const Bytes images = images_file(3, 2, 2, 12), labels = labels_file({7, 0, 9});
  write(images, labels);
  const TensorDataset plain = load_idx(images_, labels_);
  // Either file compressed, whatever its name; and gzip members concatenated (as `cat a.gz b.gz`)
  // are one file.
  const Bytes halves = concatenated(gzip(Bytes(images.begin(), images.begin() + 7)),
                                    gzip(Bytes(images.begin() + 7, images.end())));
  for (const auto& [gz_images, gz_labels] :
       {std::pair{gzip(images), labels}, {images, gzip(labels)}, {halves, gzip(labels)}}) {
    write(gz_images, gz_labels);
    const TensorDataset unzipped = load_idx(images_, labels_);
    EXPECT_EQ(unzipped.features().shape(), plain.features().shape());
    EXPECT_EQ(unzipped.features().to_vector<float>(), plain.features().to_vector<float>());
    EXPECT_EQ(unzipped.targets().to_vector<std::int64_t>(),
              plain.targets().to_vector<std::int64_t>());
  }
}

TEST_F(IdxTest, RefusesTruncatedAndCorruptGzip) {
  const Bytes labels = labels_file({1, 2, 3});
  const Bytes gz = gzip(images_file(3, 2, 2, 12));
  expect_refused(Bytes(gz.begin(), gz.end() - 10), labels,
                 images_ + ": the gzip stream ends early (truncated .gz file)");
  expect_refused(Bytes(gz.begin(), gz.begin() + 12), labels,
                 images_ + ": the gzip stream ends early (truncated .gz file)");
  Bytes bad_checksum = gz;
  bad_checksum[bad_checksum.size() - 8] ^= 0xff;  // the trailer's CRC-32
  expect_refused(bad_checksum, labels, images_ + ": corrupt gzip data (incorrect data check)");
  Bytes bad_length = gz;
  bad_length[bad_length.size() - 4] ^= 0x01;  // the trailer's inflated size
  expect_refused(bad_length, labels, images_ + ": corrupt gzip data (incorrect length check)");
  Bytes bad_method = gz;
  bad_method[2] = 7;  // compression method: only 8 (deflate) exists
  expect_refused(bad_method, labels, images_ + ": corrupt gzip data (unknown compression method)");
  Bytes scrambled = gz;
  for (std::size_t i = 10; i < scrambled.size() - 8; ++i) scrambled[i] ^= 0x5a;
  expect_refused(scrambled, labels, images_ + ": corrupt gzip data (", true);
  // Bytes after the gzip data that do not start another member.
  expect_refused(concatenated(gz, {'x', 'y', 'z'}), labels,
                 images_ + ": corrupt gzip data (incorrect header check)");
}

TEST_F(IdxTest, RefusesGzipOfABadIdxFileAsThePlainOne) {
  const Bytes labels = labels_file({1, 2, 3});
  expect_refused(gzip(images_file(1, 2, 2, 4, 0x00000802)), labels,
                 images_ + ": magic 0x00000802 is not an IDX image file (expected 0x00000803)");
  expect_refused(gzip(images_file(3, 2, 2, 11)), labels,
                 images_ +
                     ": header promises 3 x 2 x 2 bytes of data (28 bytes in all) but the "
                     "gzip data inflates to 27 bytes (truncated data)");
  expect_refused(gzip(images_file(3, 2, 2, 13)), labels,
                 images_ +
                     ": header promises 3 x 2 x 2 bytes of data (28 bytes in all) but the "
                     "gzip data inflates to 29 bytes (trailing data)");
  expect_refused(gzip({0, 0, 8, 3, 0, 0}), labels,
                 images_ + ": file ends inside the header (dimensions)");
  expect_refused(gzip({}), labels, images_ + ": file ends inside the header (magic)");
  // Deflate expands at most about 1032 times: a small file promising more is refused before the
  // data is allocated.
  const Bytes hostile = gzip(images_file(60000, 28, 28, 4));
  expect_refused(hostile, labels,
                 images_ + ": header promises 47040016 bytes in all, more than a gzip file of " +
                     std::to_string(hostile.size()) + " bytes can hold (truncated data)");
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
