// The text dataset: byte windows and their next bytes, the files it reads, "fortunes" by name, and
// the batches collated from it (int64 token ids and [n, T] labels).
#include "ddp/data/text.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ddp/core/error.hpp"
#include "ddp/data/batch.hpp"
#include "ddp/data/known_datasets.hpp"
#include "ddp/data/split.hpp"
#include "temp_dir.hpp"

namespace ddp::data {
namespace {

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

// The tokens and labels of sample `index`, as text.
std::pair<std::string, std::string> sample(const Dataset& dataset, std::int64_t index) {
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(dataset.feature_count()));
  std::vector<std::int64_t> labels(tokens.size());
  SampleSlot slot;
  slot.tokens = tokens.data();
  slot.label = labels.data();
  dataset.get(index, slot);
  return {std::string(tokens.begin(), tokens.end()), std::string(labels.begin(), labels.end())};
}

// N = 11 bytes, T = 3: floor(10 / 3) = 3 samples, the windows [0, 3], [3, 6], [6, 9]; byte 10
// is no sample's.
TEST(TextDataset, SampleIReadsBytesIToIPlusTAndPredictsEachNext) {
  TextDataset text(bytes_of("abcdefghijk"), 3, "test");
  EXPECT_EQ(text.size(), 3);
  EXPECT_EQ(text.sample_shape(), (Shape{3}));
  EXPECT_EQ(text.label_shape(), (Shape{3}));
  EXPECT_EQ(text.feature_dtype(), DType::int64);
  EXPECT_EQ(text.class_count(), 256);
  EXPECT_EQ(sample(text, 0), (std::pair<std::string, std::string>{"abc", "bcd"}));
  EXPECT_EQ(sample(text, 1), (std::pair<std::string, std::string>{"def", "efg"}));
  EXPECT_EQ(sample(text, 2), (std::pair<std::string, std::string>{"ghi", "hij"}));
  EXPECT_THROW(sample(text, 3), Error);
  // N - 1 a multiple of T: the last window ends on the last byte.
  EXPECT_EQ(TextDataset(bytes_of("abcdefg"), 3, "test").size(), 2);
  EXPECT_EQ(TextDataset(bytes_of("ab"), 1, "test").size(), 1);
}

TEST(TextDataset, BytesAboveAsciiAreTokensBelow256) {
  TextDataset text({0xff, 0x00, 0x80}, 2, "test");
  std::vector<std::int64_t> tokens(2), labels(2);
  SampleSlot slot;
  slot.tokens = tokens.data();
  slot.label = labels.data();
  text.get(0, slot);
  EXPECT_EQ(tokens, (std::vector<std::int64_t>{255, 0}));
  EXPECT_EQ(labels, (std::vector<std::int64_t>{0, 128}));
}

TEST(TextDataset, TooShortForOneSampleNamesTheOriginAndWhatToDo) {
  try {
    TextDataset(bytes_of("abc"), 3, "--data text:x.txt");
    FAIL() << "3 bytes made a sample of 3 tokens";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what())
                  .find("--data text:x.txt holds 3 bytes, too few for one "
                        "sample of 3 tokens (4 bytes)"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(TextDataset(bytes_of("abcd"), 0, "test"), InvalidArgument);
}

// Batches of int64 token ids [n, T] and labels [n, T], through a subset as the split makes them.
TEST(TextDataset, CollatesTokenAndLabelRows) {
  auto text = std::make_shared<TextDataset>(bytes_of("0123456789"), 2, "test");
  auto split = split_train_val_last(text, 0.25);  // 4 samples: the last one held out
  ASSERT_EQ(split.train->size(), 3);
  ASSERT_EQ(split.val->indices(), (std::vector<std::int64_t>{3}));
  BatchPlan plan;
  plan.indices = {2, 0};
  plan.global_n = 2;
  Batch batch = collate(*split.train, plan);
  EXPECT_EQ(batch.features.dtype(), DType::int64);
  EXPECT_EQ(batch.features.shape(), (Shape{2, 2}));
  EXPECT_EQ(batch.labels.shape(), (Shape{2, 2}));
  EXPECT_EQ(batch.features.to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{'4', '5', '0', '1'}));
  EXPECT_EQ(batch.labels.to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{'5', '6', '1', '2'}));
  EXPECT_EQ(sample(*split.val, 0), (std::pair<std::string, std::string>{"67", "78"}));
}

TEST(ReadTextFiles, ConcatenatesInTheOrderGivenAndRefusesEmptyOrFolders) {
  ddp::testing::TempDir scratch("ddp_text_");
  const std::string a = (scratch.path() / "a").string(), b = (scratch.path() / "b").string();
  std::ofstream(a) << "first\n";
  std::ofstream(b) << "second";
  const std::vector<std::uint8_t> joined = read_text_files({b, a});
  EXPECT_EQ(std::string(joined.begin(), joined.end()), "secondfirst\n");
  const std::string empty = (scratch.path() / "empty").string();
  std::ofstream{empty};
  EXPECT_THROW(read_text_files({a, empty}), InvalidArgument);
  EXPECT_THROW(read_text_files({scratch.path().string()}), InvalidArgument);
  EXPECT_THROW(read_text_files({(scratch.path() / "missing").string()}), InvalidArgument);
}

// DDP_FORTUNES_DIR pointed at a folder laid out as package fortunes lays out its own.
TEST(KnownText, FortunesAreTheTextFilesInNameOrder) {
  ddp::testing::TempDir scratch("ddp_fortunes_");
  const std::filesystem::path& dir = scratch.path();
  setenv("DDP_FORTUNES_DIR", dir.c_str(), 1);
  try {
    find_known_text("fortunes");
    FAIL() << "an empty folder gave fortunes";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what())
                  .find("text 'fortunes' is not installed (no fortune files "
                        "in " +
                        dir.string() +
                        "); install it with launch/setup.sh "
                        "--with-datasets (Debian's fortunes)"),
              std::string::npos)
        << error.what();
  }
  for (const char* name : {"zippy", "art", "art.dat", "zippy.dat"})
    std::ofstream(dir / name) << "x";
  std::filesystem::create_symlink(dir / "art", dir / "art.u8");
  std::filesystem::create_symlink(dir / "art", dir / "link");
  const std::optional<std::vector<std::string>> files = find_known_text("fortunes");
  unsetenv("DDP_FORTUNES_DIR");
  ASSERT_TRUE(files.has_value());
  EXPECT_EQ(*files, (std::vector<std::string>{(dir / "art").string(), (dir / "zippy").string()}));
  EXPECT_FALSE(find_known_text("shakespeare").has_value());
}

}  // namespace
}  // namespace ddp::data
