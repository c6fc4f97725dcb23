#include "ddp/data/text.hpp"

#include <filesystem>
#include <utility>

#include "ddp/core/error.hpp"
#include "file_bytes.hpp"

namespace ddp::data {

TextDataset::TextDataset(std::vector<std::uint8_t> bytes, std::int64_t context,
                         const std::string& origin)
    : bytes_(std::move(bytes)), context_(context) {
  DDP_CHECK_ARG(context_ >= 1, "a text's context must be at least 1 token, got " << context_);
  const auto n = static_cast<std::int64_t>(bytes_.size());
  DDP_CHECK_ARG(n >= context_ + 1, origin << " holds " << n << " bytes, too few for one sample of "
                                          << context_ << " tokens (" << context_ + 1
                                          << " bytes); give more text or a model of a shorter "
                                             "context");
  size_ = (n - 1) / context_;
}

void TextDataset::get(std::int64_t index, const SampleSlot& slot) const {
  DDP_CHECK(0 <= index && index < size_,
            "text sample " << index << " outside a dataset of " << size_ << " samples");
  const std::uint8_t* window = bytes_.data() + index * context_;
  if (slot.tokens != nullptr) {
    for (std::int64_t t = 0; t < context_; ++t) slot.tokens[t] = window[t];
  }
  if (slot.label != nullptr) {
    for (std::int64_t t = 0; t < context_; ++t) slot.label[t] = window[t + 1];
  }
}

std::vector<std::uint8_t> read_text_files(const std::vector<std::string>& paths) {
  std::vector<std::uint8_t> text;
  for (const std::string& path : paths) {
    DDP_CHECK_ARG(!std::filesystem::is_directory(path),
                  path << ": is a folder; give text files (text:FILE[,FILE...])");
    FileBytes file(path);
    const std::size_t before = text.size();
    constexpr std::size_t kChunk = std::size_t{1} << 16;
    std::size_t got = 0;
    do {
      text.resize(text.size() + kChunk);
      got = file.read(text.data() + text.size() - kChunk, kChunk);
      text.resize(text.size() - kChunk + got);
    } while (got == kChunk);
    DDP_CHECK_ARG(text.size() > before, path << ": is empty; give a file that holds text");
  }
  return text;
}

}  // namespace ddp::data
