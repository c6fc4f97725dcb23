#include "ddp/io/safetensors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ddp/core/random.hpp"
#include "io_test_files.hpp"

namespace ddp::io {
namespace {

namespace fs = std::filesystem;
using namespace testing;

// Every dtype the format and ddp share, a 0-dim tensor and an empty one.
std::vector<NamedTensor> sample_tensors() {
  return {{"0.weight", filled<float>({2, 3}, 0.5f)},
          {"0.bias", filled<double>({4}, -2.0)},
          {"counts", filled<std::int32_t>({2, 2}, 9)},
          {"step", filled<std::int64_t>({}, -7)},
          {"bf16", half_tensor(DType::bfloat16, {3})},
          {"f16", half_tensor(DType::float16, {2, 2})},
          {"empty", Tensor::empty({0, 3})}};
}

const std::map<std::string, std::string> sample_metadata = {
    {"format", "pt"}, {"quoted \"key\"\\", "line\nbreak\ttab \x01 caf\xc3\xa9"}, {"empty", ""}};

// A file of the given header (as it is: no padding added) followed by data_bytes bytes of data.
std::vector<std::uint8_t> file_with(std::string_view header, std::size_t data_bytes = 0) {
  std::vector<std::uint8_t> bytes(8 + header.size() + data_bytes, 0xA5);
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, sizeof(length));
  if (!header.empty()) std::memcpy(bytes.data() + 8, header.data(), header.size());
  return bytes;
}

std::string parse_error(const std::vector<std::uint8_t>& bytes) {
  try {
    parse_safetensors(bytes, "hostile.safetensors");
  } catch (const SafetensorsError& error) {
    return error.what();
  }
  return "(parsed without error)";
}

// The error of a file with this header and data; checks that it names the file and is one line.
std::string header_error(std::string_view header, std::size_t data_bytes = 0) {
  const std::string message = parse_error(file_with(header, data_bytes));
  EXPECT_EQ(message.rfind("hostile.safetensors: ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(Safetensors, RoundTripKeepsEveryDtypeScalarEmptyTensorAndMetadata) {
  const std::vector<NamedTensor> tensors = sample_tensors();
  const SafetensorsContents back =
      parse_safetensors(serialize_safetensors(tensors, sample_metadata), "memory");
  expect_same_tensors(tensors, back.tensors);
  EXPECT_EQ(back.metadata, sample_metadata);
  EXPECT_EQ(back.tensors[3].tensor.ndim(), 0u);
  EXPECT_EQ(back.tensors[3].tensor.to_vector<std::int64_t>(), std::vector<std::int64_t>{-7});

  TempDir dir("ddp_safetensors_");
  const fs::path file = dir.path() / "model.safetensors";
  write_safetensors(file, tensors, sample_metadata);
  const SafetensorsContents from_file = read_safetensors(file);
  expect_same_tensors(tensors, from_file.tensors);
  EXPECT_EQ(from_file.metadata, sample_metadata);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Safetensors, NoTensorsAndNoMetadataIsAnEmptyObject) {
  const std::vector<std::uint8_t> bytes = serialize_safetensors({});
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ',
                                              ' ', ' '}));
  const SafetensorsContents back = parse_safetensors(bytes, "memory");
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

// The bytes the format's specification gives for these tensors, written out by hand: the
// header's layout, its padding and the data's order are pinned.
TEST(Safetensors, WriterBytesMatchTheSpecification) {
  const std::string header =
      R"({"__metadata__":{"k":"v"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})"
      "    ";  // 132 bytes of JSON, padded to 136 so that the data starts at byte 144
  std::vector<std::uint8_t> expected = {136, 0, 0, 0, 0, 0, 0, 0};
  expected.insert(expected.end(), header.begin(), header.end());
  const std::vector<std::uint8_t> data = {0x00, 0x00, 0x80, 0x3F,   // 1.0f
                                          0x00, 0x00, 0x00, 0xC0,   // -2.0f
                                          0x07, 0x00, 0x00, 0x00,   // 7 as int64 ...
                                          0x00, 0x00, 0x00, 0x00};  // ... little-endian
  expected.insert(expected.end(), data.begin(), data.end());

  const std::vector<NamedTensor> tensors = {{"a", Tensor::from_vector<float>({1.0f, -2.0f}, {2})},
                                            {"b", filled<std::int64_t>({}, 7)}};
  const std::vector<std::uint8_t> written = serialize_safetensors(tensors, {{"k", "v"}});
  EXPECT_EQ(std::string(written.begin(), written.end()),
            std::string(expected.begin(), expected.end()));
  expect_same_tensors(tensors, parse_safetensors(expected, "spec").tensors);
}

TEST(Safetensors, HeaderIsPaddedWithSpacesToAMultipleOf8) {
  for (std::size_t length = 1; length <= 16; ++length) {
    const std::vector<std::uint8_t> bytes =
        serialize_safetensors({{std::string(length, 'w'), Tensor::zeros({1})}});
    std::uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, bytes.data(), sizeof(header_bytes));
    EXPECT_EQ((8 + header_bytes) % 8, 0u) << length;
    EXPECT_EQ(bytes.size(), 8 + header_bytes + 4) << length;
    EXPECT_EQ(parse_safetensors(bytes, "memory").tensors.at(0).name, std::string(length, 'w'));
  }
}

TEST(Safetensors, NamesAreEscapedBothWays) {
  const std::string tricky = "a\"b\\c\nd\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80";
  const std::vector<NamedTensor> tensors = {{tricky, Tensor::zeros({1})}};
  const std::vector<std::uint8_t> bytes = serialize_safetensors(tensors, {{tricky, tricky}});
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_CONTAINS(text, R"("a\"b\\c\nd\u0001\u001f/)");
  const SafetensorsContents back = parse_safetensors(bytes, "memory");
  EXPECT_EQ(back.tensors.at(0).name, tricky);
  EXPECT_EQ(back.metadata.at(tricky), tricky);

  // Escapes a writer may use and this one does not: \/, \b, \f, \uXXXX, a surrogate pair.
  const SafetensorsContents escaped =
      parse_safetensors(file_with(R"({"\u0041\/\b\f\u00e9\ud83d\ude00":{"dtype":"F32","shape":[],)"
                                  R"("data_offsets":[0,4]}})",
                                  4),
                        "memory");
  EXPECT_EQ(escaped.tensors.at(0).name, "A/\b\f\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Safetensors, TensorsComeInTheOrderOfTheirDataAndWhitespaceIsAllowed) {
  const SafetensorsContents parsed = parse_safetensors(
      file_with("{\n\t\"second\" : { \"shape\" : [ 1 ] , \"data_offsets\" : [ 4 , 8 ] ,"
                " \"dtype\" : \"I32\" } ,\r\n \"first\":{\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[0,4]}, \"none\":{\"dtype\":\"F16\",\"shape\":[0],"
                "\"data_offsets\":[8,8]}}\n",
                8),
      "memory");
  ASSERT_EQ(parsed.tensors.size(), 3u);
  EXPECT_EQ(parsed.tensors[0].name, "first");
  EXPECT_EQ(parsed.tensors[1].name, "second");
  EXPECT_EQ(parsed.tensors[1].tensor.dtype(), DType::int32);
  EXPECT_EQ(parsed.tensors[2].name, "none");
}

TEST(Safetensors, TheFileIsCheckedBeforeTheHeader) {
  EXPECT_EQ(parse_error({1, 2, 3}),
            "hostile.safetensors: truncated: 3 bytes, less than the 8 of the header length");
  std::vector<std::uint8_t> longer = file_with("{}");
  longer[0] = 100;
  EXPECT_EQ(parse_error(longer),
            "hostile.safetensors: truncated: the header length says 100 bytes, 2 follow it");
  std::vector<std::uint8_t> huge = file_with("{}");
  const std::uint64_t past_limit = 100'000'001;
  std::memcpy(huge.data(), &past_limit, sizeof(past_limit));
  EXPECT_CONTAINS(parse_error(huge), "header length 100000001 is more than the 100000000 bytes");
  std::vector<std::uint8_t> max = file_with("{}");
  std::memset(max.data(), 0xFF, 8);
  EXPECT_CONTAINS(parse_error(max), "header length 18446744073709551615 is more than");
  EXPECT_CONTAINS(header_error(""), "does not start with '{'");
  EXPECT_CONTAINS(header_error(" {}"), "does not start with '{'");
}

TEST(Safetensors, MalformedJsonIsRefusedWithItsByteOffset) {
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32",}})"),
                  "tensor 'a': expected a key (a string) but found '}' at byte 28");
  EXPECT_CONTAINS(header_error(R"({"a" {})"), "header: expected ':' after key 'a' but found '{'");
  EXPECT_CONTAINS(header_error(R"({"__metadata__":{}} x)"),
                  "header: text after the JSON value: 'x' at byte 28; only whitespace");
  EXPECT_CONTAINS(header_error(R"({"__metadata__":{}}})"),
                  "text after the JSON value: '}' at byte 27");
  EXPECT_CONTAINS(header_error(R"({"a)"), "unterminated string starting at byte 9");
  EXPECT_CONTAINS(header_error("{"), "expected a key (a string) but found the end of the JSON");
  EXPECT_CONTAINS(header_error("{\"a\nb\":1}"), "control byte 0x0a inside a string at byte 11");
  EXPECT_CONTAINS(header_error("{\"\xff\":1}"), "byte 0xff that is not UTF-8");
  EXPECT_CONTAINS(header_error("{\"\xc0\xaf\":1}"), "byte 0xc0 that is not UTF-8");  // overlong
  EXPECT_CONTAINS(header_error("{\"\xed\xa0\x80\":1}"), "not UTF-8");  // an encoded surrogate
  EXPECT_CONTAINS(header_error(R"({"\ud800x":1})"), "high surrogate \\ud800 without a low one");
  EXPECT_CONTAINS(header_error(R"({"\udc00":1})"), "lone low surrogate \\udc00");
  EXPECT_CONTAINS(header_error(R"({"\u12":1})"), "\\u without four hex digits");
  EXPECT_CONTAINS(header_error(R"({"\x":1})"), "unknown escape \\'x'");
  EXPECT_CONTAINS(header_error(R"({"a":true})"),
                  "tensor 'a': expected an object ('{') but found 't'");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[1 2]}})"),
                  "tensor 'a' shape: expected ',' or ']' but found '2'");
}

TEST(Safetensors, EntriesWithoutAFieldOrWithAnUnknownOneAreRefused) {
  const std::string shape = R"("shape":[1])", offsets = R"("data_offsets":[0,4])",
                    dtype = R"("dtype":"F32")";
  EXPECT_CONTAINS(header_error("{\"w\":{" + shape + "," + offsets + "}}", 4),
                  "tensor 'w' has no dtype");
  EXPECT_CONTAINS(header_error("{\"w\":{" + dtype + "," + offsets + "}}", 4),
                  "tensor 'w' has no shape");
  EXPECT_CONTAINS(header_error("{\"w\":{" + dtype + "," + shape + "}}", 4),
                  "tensor 'w' has no data_offsets");
  EXPECT_CONTAINS(
      header_error("{\"w\":{" + dtype + "," + shape + "," + offsets + ",\"extra\":\"x\"}}", 4),
      "tensor 'w' has unknown field 'extra'");
  EXPECT_CONTAINS(header_error(R"({"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})"),
                  "a tensor without a name at byte 9");
  EXPECT_CONTAINS(header_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
                  "tensor 'w' data_offsets has 1 numbers; it is [begin, end]");
  EXPECT_CONTAINS(header_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}})", 4),
                  "tensor 'w' data_offsets has more than 2 numbers");
  EXPECT_CONTAINS(header_error(R"({"__metadata__":{"k":1}})"),
                  "__metadata__ 'k': expected a string but found '1'");
}

TEST(Safetensors, UnsupportedDtypeNamesTheTensorItsDtypeAndTheSupportedOnes) {
  for (const char* dtype : {"BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "f32"}) {
    const std::string message = header_error(
        std::string(R"({"mask":{"dtype":")") + dtype + R"(","shape":[1],"data_offsets":[0,1]}})",
        1);
    EXPECT_CONTAINS(message, std::string("tensor 'mask' has dtype '") + dtype + "'");
    EXPECT_CONTAINS(message, "supported: F32, F64, I32, I64, BF16, F16");
  }
}

TEST(Safetensors, OffsetsMustHoldTheShapeAndTileTheDataExactly) {
  EXPECT_EQ(parse_error(file_with(
                R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}})", 12)),
            "hostile.safetensors: tensor '0.weight': data_offsets [0, 12] hold 12 bytes but shape "
            "[2, 3] of F32 needs 24");
  EXPECT_CONTAINS(header_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
                  "tensor 'w': data_offsets [8, 0] end before they begin");
  EXPECT_CONTAINS(header_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                  "tensor 'w': data_offsets [0, 16] reach past the end of the 8 bytes of data");
  EXPECT_CONTAINS(header_error(R"({"w":{"dtype":"F32","shape":[1],)"
                               R"("data_offsets":[18446744073709551612,18446744073709551616]}})"),
                  "past 2^64 - 1");
  const std::string gap = header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                       12);
  EXPECT_CONTAINS(gap,
                  "tensor 'b': data_offsets [8, 12] leave bytes [4, 8) of the data unused "
                  "(after tensor 'a')");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                  "leave bytes [0, 4) of the data unused (at its start)");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               12),
                  "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                               8),
                  "overlap tensor 'a'");
  // An empty tensor inside another's bytes.
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                               8),
                  "tensor 'z': data_offsets [4, 4] overlap tensor 'a'");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 6),
                  "2 bytes after the last tensor's data: the tensors cover 4 of the 6 bytes");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],)"
                               R"("data_offsets":[0,0]}})"),
                  "tensor 'a' has shape [4611686018427387904, 4], more elements than int64");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F64","shape":[0,4611686018427387904,4],)"
                               R"("data_offsets":[0,0]}})"),
                  "more elements than int64");
  EXPECT_CONTAINS(header_error(R"({"a":{"dtype":"F64","shape":[4611686018427387904],)"
                               R"("data_offsets":[0,0]}})"),
                  "more bytes than 64 bits count");
}

TEST(Safetensors, NumbersAreNonNegativeIntegersAndTheMessageNamesTheTensor) {
  const auto entry = [](const std::string& shape, const std::string& offsets) {
    return R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
  };
  EXPECT_CONTAINS(header_error(entry("[-1]", "[0,4]"), 4),
                  "tensor 'w' shape: negative number -1 at byte 37; sizes and offsets are "
                  "non-negative integers");
  EXPECT_CONTAINS(header_error(entry("[1]", "[0,-4]"), 4),
                  "tensor 'w' data_offsets: negative number -4");
  EXPECT_CONTAINS(header_error(entry("[1.0]", "[0,4]"), 4),
                  "tensor 'w' shape: number 1.0 that is not an integer");
  EXPECT_CONTAINS(header_error(entry("[1e0]", "[0,4]"), 4), "number 1e0 that is not an integer");
  EXPECT_CONTAINS(header_error(entry("[1]", "[0,4E0]"), 4),
                  "tensor 'w' data_offsets: number 4E0 that is not an integer");
  EXPECT_CONTAINS(header_error(entry("[01]", "[0,4]"), 4), "number 01 with a leading zero");
  EXPECT_CONTAINS(header_error(entry("[+1]", "[0,4]"), 4),
                  "tensor 'w' shape: expected a non-negative integer but found '+'");
  EXPECT_CONTAINS(header_error(entry("[\"1\"]", "[0,4]"), 4),
                  "expected a non-negative integer but found '\"'");
  EXPECT_CONTAINS(header_error(entry("[9223372036854775808]", "[0,4]"), 4),
                  "tensor 'w' shape: extent 9223372036854775808 does not fit in int64");
  EXPECT_CONTAINS(header_error(entry("[99999999999999999999]", "[0,4]"), 4),
                  "tensor 'w' shape: number 99999999999999999999 past 2^64 - 1");
}

TEST(Safetensors, DuplicateKeysAreRefused) {
  const std::string entry = R"({"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  EXPECT_CONTAINS(header_error("{\"w\":" + entry + ",\"w\":" + entry + "}"),
                  "tensor 'w' appears twice (again at byte 62); keys must be unique");
  EXPECT_CONTAINS(header_error(R"({"__metadata__":{},"__metadata__":{}})"),
                  "__metadata__ appears twice");
  EXPECT_CONTAINS(header_error(R"({"__metadata__":{"k":"a","k":"b"}})"),
                  "__metadata__ has key 'k' twice (again at byte 33)");
  EXPECT_CONTAINS(
      header_error(R"({"w":{"dtype":"F32","shape":[0],"shape":[0],"data_offsets":[0,0]}})"),
      "tensor 'w' has shape twice");
}

TEST(Safetensors, RandomlyMutatedFilesParseOrFailCleanly) {
  const std::vector<std::uint8_t> good = serialize_safetensors(sample_tensors(), sample_metadata);
  Generator generator(5);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::uint8_t> mutated = good;
    const std::uint64_t flips = 1 + generator.uniform_int(4);
    for (std::uint64_t i = 0; i < flips; ++i) {
      // Mostly the header, where the parsing is.
      const std::size_t at = generator.uniform_int(std::min<std::size_t>(mutated.size(), 400));
      mutated[at] = static_cast<std::uint8_t>(generator.next_u64());
    }
    mutated.resize(mutated.size() - generator.uniform_int(3) * generator.uniform_int(40));
    try {
      parse_safetensors(mutated, "fuzz");
    } catch (const SafetensorsError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(Safetensors, WriterRefusesNamesTheFormatCannotHold) {
  const Tensor one = Tensor::zeros({1});
  const auto error_of = [](const std::vector<NamedTensor>& tensors,
                           const std::map<std::string, std::string>& metadata = {}) {
    try {
      serialize_safetensors(tensors, metadata);
    } catch (const SafetensorsError& error) {
      return std::string(error.what());
    }
    return std::string("(written without error)");
  };
  EXPECT_CONTAINS(error_of({{"w", one}, {"w", one}}), "two tensors named 'w'");
  EXPECT_CONTAINS(error_of({{"", one}}), "a tensor without a name");
  EXPECT_CONTAINS(error_of({{"__metadata__", one}}), "the format's key for metadata");
  EXPECT_CONTAINS(error_of({{"w", Tensor()}}), "tensor 'w': it is undefined");
  EXPECT_CONTAINS(error_of({{"bad\xff", one}}), "tensor 'bad\xff': its byte 3 is not UTF-8");
  EXPECT_CONTAINS(error_of({}, {{"k", "\xc0\x80"}}), "metadata key 'k': its byte 0 is not UTF-8");
}

TEST(Safetensors, UnwritableOrUnreadablePathIsAnErrorNamingIt) {
  TempDir dir("ddp_safetensors_");
  const fs::path file = dir.path() / "missing" / "model.safetensors";
  try {
    write_safetensors(file, sample_tensors());
    FAIL() << "expected a SafetensorsError";
  } catch (const SafetensorsError& error) {
    EXPECT_EQ(
        std::string(error.what()).rfind(file.string() + ": cannot create a temporary file", 0), 0u)
        << error.what();
    EXPECT_CONTAINS(error.what(), std::strerror(ENOENT));
  }
  try {
    read_safetensors(file);
    FAIL() << "expected a SafetensorsError";
  } catch (const SafetensorsError& error) {
    EXPECT_EQ(std::string(error.what()), file.string() + ": cannot open: " + std::strerror(ENOENT));
  }
  EXPECT_THROW(read_safetensors(dir.path()), SafetensorsError);
  // InvalidArgument: the programs exit 2.
  EXPECT_THROW(read_safetensors(file), InvalidArgument);
}

TEST(Safetensors, FailedWriteLeavesThePreviousFileWhole) {
  TempDir dir("ddp_safetensors_");
  const fs::path file = dir.path() / "model.safetensors";
  write_safetensors(file, sample_tensors(), sample_metadata);
  const std::vector<std::uint8_t> before = read_bytes(file);

  // A non-empty folder where the temporary file would go: it cannot be created, also as root.
  const fs::path temporary = fs::path(file) += ".tmp." + std::to_string(::getpid());
  fs::create_directories(temporary / "in-the-way");
  try {
    write_safetensors(file, {{"other", Tensor::zeros({5})}});
    FAIL() << "expected a SafetensorsError";
  } catch (const SafetensorsError& error) {
    EXPECT_CONTAINS(error.what(), file.string());
    EXPECT_CONTAINS(error.what(), "a file there before is untouched");
  }
  EXPECT_EQ(read_bytes(file), before);
  fs::remove_all(temporary);

  // A non-empty folder where the file goes: the rename fails after the whole temporary file was
  // written, and the temporary file is removed.
  const fs::path blocked = dir.path() / "blocked.safetensors";
  fs::create_directories(blocked / "in-the-way");
  try {
    write_safetensors(blocked, sample_tensors());
    FAIL() << "expected a SafetensorsError";
  } catch (const SafetensorsError& error) {
    EXPECT_CONTAINS(error.what(), "cannot rename the temporary file over it");
  }
  EXPECT_TRUE(fs::is_directory(blocked / "in-the-way"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);
  expect_same_tensors(sample_tensors(), read_safetensors(file).tensors);
}

}  // namespace
}  // namespace ddp::io
