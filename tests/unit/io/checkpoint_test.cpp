#include "ddp/io/checkpoint.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "ddp/nn/linear.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/sgd.hpp"
#include "io_test_files.hpp"

namespace ddp::io {
namespace {

namespace fs = std::filesystem;
using namespace testing;

// A small tmpfs mounted on a folder, for real "disk full" and "read-only" faults; mounting needs
// privileges a test may not have, so callers skip when mounted() is false.
class TinyFileSystem {
 public:
  TinyFileSystem(const fs::path& at, const char* options) : at_(at) {
    fs::create_directories(at_);
    mounted_ = ::mount("tmpfs", at_.c_str(), "tmpfs", 0, options) == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~TinyFileSystem() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  TinyFileSystem(const TinyFileSystem&) = delete;
  TinyFileSystem& operator=(const TinyFileSystem&) = delete;
  bool mounted() const { return mounted_; }
  // Why mounting failed.
  std::string error() const { return std::strerror(error_); }
  bool make_read_only() {
    return ::mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

 private:
  fs::path at_;
  bool mounted_ = false;
  int error_ = 0;
};

// An independent bit-at-a-time CRC-32C, to check the library's table version and to re-seal
// hand-made files.
std::uint32_t reference_crc32c(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return crc ^ 0xFFFFFFFFu;
}

void append(std::vector<std::uint8_t>& bytes, const void* data, std::size_t size) {
  const auto* begin = static_cast<const std::uint8_t*>(data);
  bytes.insert(bytes.end(), begin, begin + size);
}

template <typename T>
void append_scalar(std::vector<std::uint8_t>& bytes, T value) {
  append(bytes, &value, sizeof(value));
}

void append_string(std::vector<std::uint8_t>& bytes, const std::string& text) {
  append_scalar(bytes, static_cast<std::uint32_t>(text.size()));
  append(bytes, text.data(), text.size());
}

// A whole file around body: magic, version, size, body, a correct checksum.
std::vector<std::uint8_t> frame(const std::vector<std::uint8_t>& body, std::uint32_t version = 1) {
  std::vector<std::uint8_t> bytes = {'D', 'D', 'P', 'C', 'K', 'P', 'T', '\0'};
  append_scalar(bytes, version);
  append_scalar(bytes, static_cast<std::uint64_t>(body.size()));
  append(bytes, body.data(), body.size());
  append_scalar(bytes, reference_crc32c(bytes.data(), bytes.size()));
  return bytes;
}

// The records every checkpoint needs, as a body to extend with hostile ones.
std::vector<std::uint8_t> integer_records() {
  std::vector<std::uint8_t> body;
  for (const char* name : {"step", "epoch", "next_batch"}) {
    append_scalar(body, std::uint8_t{1});
    append_string(body, name);
    append_scalar(body, std::int64_t{0});
  }
  return body;
}

// A tensor record header (section model, float32) claiming shape, with data_bytes of data.
std::vector<std::uint8_t> tensor_record(const std::string& name, const Shape& shape,
                                        std::size_t data_bytes) {
  std::vector<std::uint8_t> body = integer_records();
  append_scalar(body, std::uint8_t{3});
  append_string(body, name);
  append_scalar(body, std::uint8_t{0});
  append_scalar(body, std::uint8_t{1});
  append_scalar(body, static_cast<std::uint8_t>(shape.size()));
  for (std::int64_t extent : shape) append_scalar(body, extent);
  body.resize(body.size() + data_bytes, 0x5A);
  return body;
}

std::string parse_error(const std::vector<std::uint8_t>& bytes) {
  try {
    parse_checkpoint(bytes, "hostile.ddpckpt");
  } catch (const CheckpointError& error) {
    return error.what();
  }
  return "(parsed without error)";
}

std::unique_ptr<nn::Sequential> mlp(std::int64_t hidden, std::uint64_t seed) {
  Generator generator(seed);
  auto model = std::make_unique<nn::Sequential>();
  model->emplace<nn::Linear>(3, hidden, generator);
  model->emplace<nn::Linear>(hidden, 2, generator);
  return model;
}

Checkpoint sample_checkpoint(std::int64_t step) {
  Checkpoint checkpoint;
  checkpoint.step = step;
  checkpoint.epoch = 3;
  checkpoint.next_batch = 17;
  checkpoint.metadata = {{"model", "mlp:3,4,2"}, {"optimizer", "sgd"}, {"empty", ""}};
  checkpoint.model = {{"0.weight", filled<float>({4, 3}, 0.5f)}, {"0.bias", filled<float>({4}, 1)}};
  checkpoint.optimizer = {{"momentum_buffer/0.weight", filled<double>({4, 3}, -2.0)},
                          {"exp_avg/0.bias", half_tensor(DType::bfloat16, {4})}};
  checkpoint.extra = {{"rng/data", filled<std::int64_t>({4}, -7)},
                      {"counts", filled<std::int32_t>({2, 2}, 9)},
                      {"half", half_tensor(DType::float16, {3})},
                      {"empty", Tensor::empty({0, 5})},
                      {"scalar", filled<float>({}, 42.0f)}};
  return checkpoint;
}

void expect_same(const Checkpoint& expected, const Checkpoint& actual) {
  EXPECT_EQ(expected.step, actual.step);
  EXPECT_EQ(expected.epoch, actual.epoch);
  EXPECT_EQ(expected.next_batch, actual.next_batch);
  EXPECT_EQ(expected.metadata, actual.metadata);
  expect_same_tensors(expected.model, actual.model);
  expect_same_tensors(expected.optimizer, actual.optimizer);
  expect_same_tensors(expected.extra, actual.extra);
}

bool has_temporary_file(const fs::path& folder) {
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().find(".tmp") != std::string::npos) return true;
  }
  return false;
}

TEST(Checkpoint, RoundTripKeepsEveryFieldDtypeAndEmptyTensor) {
  const Checkpoint original = sample_checkpoint(40);
  expect_same(original, parse_checkpoint(serialize(original), "memory"));

  TempDir dir("ddp_checkpoint_");
  const fs::path file = dir.path() / "one.ddpckpt";
  write_checkpoint_file(original, file);
  expect_same(original, read_checkpoint_file(file));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Checkpoint, ChecksumIsCrc32cOfEverythingBeforeIt) {
  const std::string check = "123456789";
  EXPECT_EQ(reference_crc32c(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()),
            0xE3069283u);
  const std::vector<std::uint8_t> bytes = serialize(sample_checkpoint(1));
  std::uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  EXPECT_EQ(stored, reference_crc32c(bytes.data(), bytes.size() - 4));
}

TEST(Checkpoint, GeneratorStateRoundTripsThroughATensor) {
  Generator generator(7);
  for (int i = 0; i < 5; ++i) generator.next_u64();
  Checkpoint checkpoint;
  checkpoint.extra.push_back({"rng/dropout", generator_state(generator)});
  const Checkpoint back = parse_checkpoint(serialize(checkpoint), "memory");
  Generator restored(0);
  restored.set_state(generator_state_from(find_tensor(back.extra, "rng/dropout")));
  EXPECT_EQ(restored.next_u64(), generator.next_u64());
  EXPECT_THROW(find_tensor(back.extra, "rng/absent"), Error);
  EXPECT_THROW(generator_state_from(filled<float>({4}, 0)), Error);
}

TEST(Checkpoint, ParseErrorsNameTheFileAndTheProblem) {
  const std::vector<std::uint8_t> good = serialize(sample_checkpoint(40));

  std::vector<std::uint8_t> truncated(good.begin(), good.end() - 50);
  EXPECT_EQ(parse_error(truncated).rfind("hostile.ddpckpt: truncated", 0), 0u)
      << parse_error(truncated);

  std::vector<std::uint8_t> flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_NE(parse_error(flipped).find("checksum mismatch"), std::string::npos);

  std::vector<std::uint8_t> magic = good;
  magic[0] = 'X';
  EXPECT_NE(parse_error(magic).find("not a ddp checkpoint"), std::string::npos);

  const std::string version = parse_error(frame(integer_records(), 2));
  EXPECT_NE(version.find("format version 2, but this build reads version 1"), std::string::npos)
      << version;

  EXPECT_NE(parse_error({}).find("truncated: 0 bytes"), std::string::npos);
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_NE(parse_error(longer).find("after the checksum"), std::string::npos);
}

TEST(Checkpoint, HostileSizesGiveAnErrorNotACrash) {
  // 2^30 x 2^30 float32 elements promised, 16 bytes present.
  const std::string huge = parse_error(frame(tensor_record("0.weight", {1 << 30, 1 << 30}, 16)));
  EXPECT_NE(huge.find("truncated: header promises 1152921504606846976 float32 elements"),
            std::string::npos)
      << huge;
  EXPECT_NE(huge.find("'0.weight'"), std::string::npos);
  // Element counts and byte counts past int64.
  EXPECT_NE(parse_error(frame(tensor_record("w", {std::int64_t{1} << 62, 4}, 0))).find("int64"),
            std::string::npos);
  EXPECT_NE(parse_error(frame(tensor_record("w", {std::int64_t{1} << 62}, 0))).find("truncated"),
            std::string::npos);
  // Overflowing extents beside a zero one.
  EXPECT_NE(
      parse_error(frame(tensor_record("w", {0, std::int64_t{1} << 62, 1 << 8}, 0))).find("int64"),
      std::string::npos);
  EXPECT_NE(parse_error(frame(tensor_record("w", {-1, 4}, 64))).find("negative"),
            std::string::npos);

  std::vector<std::uint8_t> long_name = integer_records();
  append_scalar(long_name, std::uint8_t{2});
  append_scalar(long_name, std::uint32_t{0xFFFFFFFFu});
  EXPECT_NE(parse_error(frame(long_name)).find("4294967295 bytes of a record name"),
            std::string::npos);

  std::vector<std::uint8_t> unknown_kind = integer_records();
  append_scalar(unknown_kind, std::uint8_t{9});
  append_string(unknown_kind, "x");
  EXPECT_NE(parse_error(frame(unknown_kind)).find("unknown record kind 9"), std::string::npos);

  std::vector<std::uint8_t> body_size_lies = frame(integer_records());
  const std::uint64_t promised = std::uint64_t{1} << 60;
  std::memcpy(body_size_lies.data() + 12, &promised, sizeof(promised));
  EXPECT_NE(parse_error(body_size_lies).find("truncated: header promises 1152921504606846976"),
            std::string::npos);

  EXPECT_NE(parse_error(frame({})).find("no 'step' record"), std::string::npos);

  // A name from the file stays on one line in the message.
  const std::string control = parse_error(frame(tensor_record("a\nb", {1 << 20}, 0)));
  EXPECT_NE(control.find("tensor 'a\\x0ab'"), std::string::npos) << control;
  EXPECT_EQ(control.find('\n'), std::string::npos);
}

TEST(Checkpoint, RandomlyMutatedFilesParseOrFailCleanly) {
  const std::vector<std::uint8_t> good = serialize(sample_checkpoint(5));
  const std::vector<std::uint8_t> body(good.begin() + 20, good.end() - 4);
  Generator generator(11);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::uint8_t> mutated = body;
    const std::uint64_t flips = 1 + generator.uniform_int(4);
    for (std::uint64_t i = 0; i < flips; ++i) {
      mutated[generator.uniform_int(mutated.size())] =
          static_cast<std::uint8_t>(generator.next_u64());
    }
    mutated.resize(mutated.size() - generator.uniform_int(3) * generator.uniform_int(40));
    try {
      parse_checkpoint(frame(mutated), "fuzz");
    } catch (const CheckpointError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(CheckpointDirectory, KeepsTheNewestK) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path() / "run", 2);
  for (std::int64_t step : {10, 20, 30, 40}) checkpoints.save(sample_checkpoint(step));
  const std::vector<fs::path> files = checkpoints.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "checkpoint-0000000030.ddpckpt");
  EXPECT_EQ(files[1].filename(), "checkpoint-0000000040.ddpckpt");
  const auto newest = checkpoints.load_newest();
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->file, files[1]);
  expect_same(sample_checkpoint(40), newest->checkpoint);
}

TEST(CheckpointDirectory, SaveNeverDeletesTheFileJustWritten) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 1);
  checkpoints.save(sample_checkpoint(10));
  checkpoints.save(sample_checkpoint(30));
  // As after resuming from step 20 past a corrupt step 30: 20 is older by step, yet it stays.
  checkpoints.save(sample_checkpoint(20));
  const std::vector<fs::path> files = checkpoints.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], checkpoints.file_for_step(20));
  EXPECT_EQ(files[1], checkpoints.file_for_step(30));
}

TEST(CheckpointDirectory, EmptyFolderHasNoCheckpoint) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 3);
  EXPECT_TRUE(checkpoints.list().empty());
  EXPECT_FALSE(checkpoints.load_newest().has_value());
}

// How the newest file is damaged; load_newest must fall back to the one before it.
enum class Damage { truncated, flipped_byte, wrong_magic, wrong_version, empty };

class CheckpointDamage : public ::testing::TestWithParam<Damage> {};

TEST_P(CheckpointDamage, NewestValidIsChosenWithAWarningNamingTheSkippedFile) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 5);
  for (std::int64_t step : {10, 20, 30}) checkpoints.save(sample_checkpoint(step));
  const fs::path newest = checkpoints.file_for_step(30);
  std::vector<std::uint8_t> bytes = read_bytes(newest);
  switch (GetParam()) {
    case Damage::truncated:
      bytes.resize(bytes.size() / 2);
      break;
    case Damage::flipped_byte:
      bytes[bytes.size() - 100] ^= 0x01;
      break;
    case Damage::wrong_magic:
      bytes[1] = 'X';
      break;
    case Damage::wrong_version:
      bytes[8] = 2;
      break;
    case Damage::empty:
      bytes.clear();
      break;
  }
  write_bytes(newest, bytes);

  ::testing::internal::CaptureStderr();
  const auto loaded = checkpoints.load_newest();
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 20);
  EXPECT_EQ(loaded->file, checkpoints.file_for_step(20));
  EXPECT_NE(warnings.find("checkpoint-0000000030.ddpckpt"), std::string::npos) << warnings;
}

std::string damage_name(const ::testing::TestParamInfo<Damage>& param_info) {
  constexpr std::array<const char*, 5> names = {"Truncated", "FlippedByte", "WrongMagic",
                                                "WrongVersion", "Empty"};
  return names[static_cast<std::size_t>(param_info.param)];
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, CheckpointDamage,
                         ::testing::Values(Damage::truncated, Damage::flipped_byte,
                                           Damage::wrong_magic, Damage::wrong_version,
                                           Damage::empty),
                         damage_name);

TEST(CheckpointDirectory, RotationPastACorruptNewerFileKeepsKThatReadBack) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 2);
  for (std::int64_t step : {10, 20, 30}) checkpoints.save(sample_checkpoint(step));
  const fs::path corrupt = checkpoints.file_for_step(30);
  write_bytes(corrupt, {1, 2, 3});
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(checkpoints.load_newest()->checkpoint.step, 20);
  ::testing::internal::GetCapturedStderr();
  // The resumed run saves step 25: 20 and 25 are the two newest up to it; 30 is left as it was.
  checkpoints.save(sample_checkpoint(25));
  const std::vector<fs::path> files = checkpoints.list();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], checkpoints.file_for_step(20));
  EXPECT_EQ(files[1], checkpoints.file_for_step(25));
  EXPECT_EQ(read_bytes(corrupt), (std::vector<std::uint8_t>{1, 2, 3}));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(checkpoints.load_newest()->checkpoint.step, 25);
  ::testing::internal::GetCapturedStderr();
}

TEST(CheckpointDirectory, NoCheckpointThatReadsBackIsAnErrorAndNothingIsDeleted) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 3);
  for (std::int64_t step : {10, 20}) checkpoints.save(sample_checkpoint(step));
  for (std::int64_t step : {10, 20}) write_bytes(checkpoints.file_for_step(step), {});
  ::testing::internal::CaptureStderr();
  try {
    checkpoints.load_newest();
    FAIL() << "expected a CheckpointError";
  } catch (const CheckpointError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("none of the 2 checkpoints in '" + dir.path().string()),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("checkpoint-0000000020.ddpckpt"), std::string::npos) << message;
    EXPECT_NE(message.find("move them out of the folder"), std::string::npos) << message;
  }
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(checkpoints.list().size(), 2u);
}

TEST(CheckpointDirectory, StaleTemporaryFileIsIgnoredAndCleanedUp) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 3);
  checkpoints.save(sample_checkpoint(10));
  const fs::path stale = dir.path() / "checkpoint-0000000020.ddpckpt.tmp.12345";
  std::vector<std::uint8_t> half = serialize(sample_checkpoint(20));
  half.resize(half.size() / 2);
  write_bytes(stale, half);
  EXPECT_EQ(checkpoints.list().size(), 1u);
  const auto loaded = checkpoints.load_newest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 10);
  checkpoints.save(sample_checkpoint(30));
  EXPECT_FALSE(fs::exists(stale));
}

TEST(CheckpointDirectory, FailedWriteKeepsThePreviousCheckpointAndNoTemporaryFile) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path(), 1);
  checkpoints.save(sample_checkpoint(10));
  // A non-empty folder where the new file should go: the rename over it fails (EISDIR or
  // ENOTEMPTY) after the whole temporary file was written.
  fs::create_directories(dir.path() / "checkpoint-0000000020.ddpckpt" / "in-the-way");
  try {
    checkpoints.save(sample_checkpoint(20));
    FAIL() << "expected a CheckpointError";
  } catch (const CheckpointError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(dir.path().string()), std::string::npos) << message;
    EXPECT_NE(message.find("checkpoint-0000000020.ddpckpt"), std::string::npos) << message;
  }
  EXPECT_FALSE(has_temporary_file(dir.path()));
  const auto loaded = checkpoints.load_newest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 10);
}

TEST(CheckpointDirectory, FolderThatCannotBeCreatedIsAClearError) {
  TempDir dir("ddp_checkpoint_");
  write_bytes(dir.path() / "a-file", {1, 2, 3});
  try {
    CheckpointDirectory checkpoints(dir.path() / "a-file" / "run", 2);
    FAIL() << "expected a CheckpointError";
  } catch (const CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find("a-file/run"), std::string::npos) << error.what();
  }
  EXPECT_THROW(CheckpointDirectory(dir.path() / "a-file", 2), CheckpointError);
  EXPECT_THROW(CheckpointDirectory(dir.path(), 0), InvalidArgument);
  EXPECT_THROW(write_checkpoint_file(sample_checkpoint(1), dir.path() / "missing" / "x"),
               CheckpointError);
}

TEST(CheckpointDirectory, ReadOnlyFolderIsAClearErrorAndThePreviousCheckpointStays) {
  TempDir dir("ddp_checkpoint_");
  TinyFileSystem file_system(dir.path() / "mnt", "size=1m");
  if (!file_system.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << file_system.error();
  CheckpointDirectory checkpoints(dir.path() / "mnt", 3);
  checkpoints.save(sample_checkpoint(10));
  ASSERT_TRUE(file_system.make_read_only()) << std::strerror(errno);
  try {
    checkpoints.save(sample_checkpoint(20));
    FAIL() << "expected a CheckpointError";
  } catch (const CheckpointError& error) {
    EXPECT_NE(std::string(error.what()).find(std::strerror(EROFS)), std::string::npos)
        << error.what();
  }
  const auto loaded = checkpoints.load_newest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 10);
}

TEST(CheckpointDirectory, FolderWithoutWritePermissionIsAClearError) {
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory checkpoints(dir.path() / "run", 3);
  checkpoints.save(sample_checkpoint(10));
  fs::permissions(checkpoints.directory(), fs::perms::owner_read | fs::perms::owner_exec);
  const bool can_still_write = std::ofstream(checkpoints.directory() / "probe").good();
  if (can_still_write) {
    fs::permissions(checkpoints.directory(), fs::perms::owner_all);
    GTEST_SKIP() << "permissions do not stop this user (root); the read-only tmpfs test covers it";
  }
  EXPECT_THROW(checkpoints.save(sample_checkpoint(20)), CheckpointError);
  fs::permissions(checkpoints.directory(), fs::perms::owner_all);
  const auto loaded = checkpoints.load_newest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 10);
}

TEST(CheckpointDirectory, FullDiskIsAClearErrorAndThePreviousCheckpointStays) {
  TempDir dir("ddp_checkpoint_");
  TinyFileSystem file_system(dir.path() / "mnt", "size=64k");
  if (!file_system.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << file_system.error();
  CheckpointDirectory checkpoints(dir.path() / "mnt", 3);
  checkpoints.save(sample_checkpoint(10));
  Checkpoint big = sample_checkpoint(20);
  big.model.push_back({"big", Tensor::zeros({64 * 1024})});  // 256 KiB: more than the disk
  try {
    checkpoints.save(big);
    FAIL() << "expected a CheckpointError";
  } catch (const CheckpointError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(std::strerror(ENOSPC)), std::string::npos) << message;
    EXPECT_NE(message.find("previous checkpoints are untouched"), std::string::npos) << message;
  }
  EXPECT_EQ(checkpoints.list().size(), 1u);
  EXPECT_FALSE(has_temporary_file(dir.path() / "mnt"));
  const auto loaded = checkpoints.load_newest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->checkpoint.step, 10);
}

TEST(ModelState, LoadCopiesEveryParameter) {
  auto source = mlp(4, 1);
  auto target = mlp(4, 2);
  Checkpoint checkpoint;
  checkpoint.model = model_state(*source);
  const Checkpoint back = parse_checkpoint(serialize(checkpoint), "memory");
  load_model_state(back.model, *target);
  for (std::size_t i = 0; i < source->parameters().size(); ++i) {
    EXPECT_EQ(source->parameters()[i]->value.to_vector<float>(),
              target->parameters()[i]->value.to_vector<float>());
  }
}

// Gradients that depend on the step, so momentum makes later steps depend on earlier ones.
void set_gradients(nn::Module& model, int step) {
  for (nn::Parameter* param : model.parameters()) {
    for (std::int64_t i = 0; i < param->grad.numel(); ++i) {
      param->grad.data<float>()[i] = 0.01f * static_cast<float>((i + step) % 7) - 0.03f;
    }
    param->has_grad = true;
  }
}

TEST(ModelState, ResumeThroughAFileContinuesExactlyAsTheUninterruptedRun) {
  const optim::SgdOptions options{.lr = 0.1, .momentum = 0.9};
  auto uninterrupted = mlp(4, 1);
  optim::Sgd uninterrupted_sgd(uninterrupted->parameters(), options);
  for (int step = 0; step < 3; ++step) {
    set_gradients(*uninterrupted, step);
    uninterrupted_sgd.step();
  }
  Checkpoint checkpoint;
  checkpoint.step = 3;
  checkpoint.model = model_state(*uninterrupted);
  checkpoint.optimizer = uninterrupted_sgd.state();
  TempDir dir("ddp_checkpoint_");
  CheckpointDirectory(dir.path(), 1).save(checkpoint);

  auto resumed = mlp(4, 2);
  optim::Sgd resumed_sgd(resumed->parameters(), options);
  const auto loaded = CheckpointDirectory(dir.path(), 1).load_newest();
  ASSERT_TRUE(loaded.has_value());
  load_model_state(loaded->checkpoint.model, *resumed, loaded->file.string());
  resumed_sgd.load_state(loaded->checkpoint.optimizer);
  for (int step = 3; step < 5; ++step) {
    set_gradients(*uninterrupted, step);
    uninterrupted_sgd.step();
    set_gradients(*resumed, step);
    resumed_sgd.step();
  }
  for (std::size_t i = 0; i < resumed->parameters().size(); ++i) {
    EXPECT_EQ(resumed->parameters()[i]->value.to_vector<float>(),
              uninterrupted->parameters()[i]->value.to_vector<float>());
  }
}

std::string load_error(const std::vector<NamedTensor>& saved, nn::Module& model) {
  try {
    load_model_state(saved, model, "checkpoint-0000000040.ddpckpt");
  } catch (const Error& error) {
    return error.what();
  }
  return "(loaded without error)";
}

TEST(ModelState, AnotherModelIsRefusedNamingTheFirstMismatchingParameter) {
  auto saved_model = mlp(4, 1);
  const std::vector<NamedTensor> saved = model_state(*saved_model);

  auto wider = mlp(5, 2);
  const std::vector<float> before = wider->parameters()[0]->value.to_vector<float>();
  const std::string shape = load_error(saved, *wider);
  EXPECT_NE(shape.find("checkpoint-0000000040.ddpckpt is from another model: "
                       "'0.weight' is float32[4, 3] there but float32[5, 3] in this model"),
            std::string::npos)
      << shape;
  EXPECT_EQ(wider->parameters()[0]->value.to_vector<float>(), before);

  Generator generator(3);
  nn::Sequential shorter;
  shorter.emplace<nn::Linear>(3, 4, generator);
  const std::string count = load_error(saved, shorter);
  EXPECT_NE(count.find("it has 4 tensors, this model 2; '1.weight' is not in this model"),
            std::string::npos)
      << count;

  std::vector<NamedTensor> renamed = saved;
  renamed[1].name = "0.offset";
  const std::string name = load_error(renamed, *mlp(4, 2));
  EXPECT_NE(name.find("tensor 1 is '0.offset' there but '0.bias' in this model"), std::string::npos)
      << name;
}

}  // namespace
}  // namespace ddp::io
