// TextDataset: files of text as one run of byte tokens, cut into windows of a model's context.
// Sample i reads bytes [i*T, i*T + T]: the first T are its inputs, the last T its targets (each
// position predicts the byte after it), so consecutive samples tile the text without overlap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ddp/data/dataset.hpp"

namespace ddp::data {

class TextDataset : public Dataset {
 public:
  // The byte values in a text: every byte is a token.
  static constexpr std::int64_t kByteTokens = 256;

  // bytes: the whole text; context: T >= 1. The text must hold at least T + 1 bytes (one sample):
  // an InvalidArgument otherwise, naming `origin` (the files it came from).
  TextDataset(std::vector<std::uint8_t> bytes, std::int64_t context, const std::string& origin);

  // floor((N - 1) / T) samples of a text of N bytes.
  std::int64_t size() const override { return size_; }
  std::int64_t feature_count() const override { return context_; }
  Shape sample_shape() const override { return {context_}; }
  std::int64_t class_count() const override { return kByteTokens; }
  DType feature_dtype() const override { return DType::int64; }
  Shape label_shape() const override { return {context_}; }
  // Writes slot.tokens and slot.label, T int64 each.
  void get(std::int64_t index, const SampleSlot& slot) const override;

  std::int64_t context() const { return context_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::int64_t context_;
  std::int64_t size_;
};

// The files' bytes, concatenated in the order given (gzip files inflated). A missing file, a
// folder or an empty file is an InvalidArgument naming it.
std::vector<std::uint8_t> read_text_files(const std::vector<std::string>& paths);

}  // namespace ddp::data
