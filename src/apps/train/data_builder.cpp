#include "data_builder.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <numeric>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/data/csv.hpp"
#include "ddp/data/idx.hpp"
#include "ddp/data/known_datasets.hpp"
#include "ddp/data/split.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/data/text.hpp"

namespace ddp::train {
namespace {

// Samples of the built-in task when --data synthetic names no count.
constexpr std::int64_t kDefaultSyntheticSamples = 20000;

std::int64_t parse_sample_count(const std::string& flag, const std::string& spec,
                                const std::string& text) {
  std::int64_t count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  DDP_CHECK_ARG(ec == std::errc() && end == text.data() + text.size() && count > 0,
                flag << " '" << spec << "': the sample count must be a positive integer");
  return count;
}

// The files a text spec names: text:fortunes, or text:PATH[,PATH...].
std::vector<std::string> text_files(const std::string& flag, const std::string& spec) {
  const std::string argument = spec.substr(spec.find(':') + 1);
  if (std::optional<std::vector<std::string>> known = data::find_known_text(argument)) {
    return *known;
  }
  std::vector<std::string> paths;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = argument.find(',', start);
    paths.push_back(argument.substr(start, comma - start));
    DDP_CHECK_ARG(!paths.back().empty(), flag << " '" << spec
                                              << "' has an empty file name; use "
                                                 "text:PATH[,PATH...] or text:fortunes");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return paths;
}

std::shared_ptr<const data::Dataset> load_text(const std::string& flag, const std::string& spec,
                                               const DataShape& shape) {
  DDP_CHECK_ARG(shape.sequence > 0, flag << " " << spec
                                         << " is text, which trains a language model; use --model "
                                         << "gpt:layers=L,heads=H,dim=C,context=T (e.g. "
                                            "gpt:layers=4,heads=4,dim=128,context=64)");
  DDP_CHECK_ARG(shape.classes >= data::TextDataset::kByteTokens,
                flag << " " << spec << " has " << data::TextDataset::kByteTokens
                     << " byte tokens but the model predicts " << shape.classes
                     << "; give --model a vocab of at least " << data::TextDataset::kByteTokens);
  DDP_CHECK_ARG(!shape.normalization, "--normalize applies to features, not to the tokens of "
                                          << flag << " " << spec << "; leave it out");
  const std::vector<std::string> files = text_files(flag, spec);
  for (const std::string& file : files) {
    DDP_CHECK_ARG(std::filesystem::exists(file),
                  flag << " " << spec << ": " << file << " does not exist; check the path");
  }
  std::string origin = flag + " " + spec;
  return std::make_shared<data::TextDataset>(data::read_text_files(files), shape.sequence, origin);
}

}  // namespace

bool is_text(const std::string& spec) {
  return spec.substr(0, spec.find(':')) == "text";
}

bool is_synthetic(const std::string& spec) {
  return spec.substr(0, spec.find(':')) == "synthetic";
}

std::shared_ptr<const data::TensorDataset> load_dataset(const std::string& flag,
                                                        const std::string& spec,
                                                        const DataShape& shape, std::uint64_t seed,
                                                        std::int64_t first_synthetic_sample) {
  std::string kind = spec.substr(0, spec.find(':'));
  std::string argument = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
  const std::int64_t features = numel(shape.sample);
  std::shared_ptr<const data::TensorDataset> dataset;
  if (kind == "synthetic") {
    std::int64_t samples =
        argument.empty() ? kDefaultSyntheticSamples : parse_sample_count(flag, spec, argument);
    // Generated once here, not per epoch by the loader: throughput then measures training. A
    // sample depends on the task's seed and its index alone, so the samples before the first
    // cost nothing. More than the machine's memory would end in std::bad_alloc or the OOM killer.
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    const double bytes = static_cast<double>(samples) *
                         static_cast<double>(features * 4 + 2 * 8);  // features, label, index
    const double memory =
        static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
    DDP_CHECK_ARG(bytes < memory, flag << " '" << spec << "': " << samples << " samples of "
                                       << features << " features take " << bytes / kGiB
                                       << " GiB, more than this machine's " << memory / kGiB
                                       << " GiB of memory; ask for fewer");
    auto task = std::make_shared<const data::SyntheticClassification>(
        first_synthetic_sample + samples, features, shape.classes, seed);
    std::vector<std::int64_t> indices(static_cast<std::size_t>(samples));
    std::iota(indices.begin(), indices.end(), first_synthetic_sample);
    dataset = std::make_shared<data::TensorDataset>(
        data::load_into_memory(data::SubsetDataset(std::move(task), std::move(indices))));
  } else if (kind == "csv" && !argument.empty()) {
    // The width from the file, so that a file of another width meets the check below, which
    // names --model.
    dataset = std::make_shared<data::TensorDataset>(
        data::load_csv(argument, {.class_count = shape.classes}));
  } else if (std::optional<data::IdxPaths> known = data::find_known_dataset(spec)) {
    dataset = std::make_shared<data::TensorDataset>(
        data::load_idx(known->images, known->labels, shape.classes));
  } else if (kind == "idx" && argument.find(',') != std::string::npos) {
    std::string images = argument.substr(0, argument.find(','));
    std::string labels = argument.substr(argument.find(',') + 1);
    DDP_CHECK_ARG(!images.empty() && !labels.empty(), flag << " '" << spec << "' names no "
                                                           << (images.empty() ? "images" : "labels")
                                                           << " file; use idx:IMAGES,LABELS");
    dataset = std::make_shared<data::TensorDataset>(data::load_idx(images, labels, shape.classes));
  } else {
    DDP_THROW(InvalidArgument, flag << " '" << spec << "' is not known; use synthetic[:N], "
                                    << "csv:PATH, idx:IMAGES,LABELS, fashion-mnist[:train|:test], "
                                    << "text:PATH[,PATH...] or text:fortunes");
  }
  return dataset;
}

std::shared_ptr<const data::Dataset> fit_to_model(
    const std::string& flag, const std::string& spec,
    std::shared_ptr<const data::TensorDataset> dataset, const DataShape& shape) {
  DDP_CHECK_ARG(shape.sequence == 0,
                flag << " " << spec << " is no text, but the model is a language model; give it "
                     << "text with " << flag << " text:PATH[,PATH...] or text:fortunes");
  const std::int64_t features = numel(shape.sample);
  DDP_CHECK_ARG(dataset->feature_count() == features,
                flag << " " << spec << " has " << dataset->feature_count()
                     << " features per sample (shape " << to_string(dataset->sample_shape())
                     << ") but the model takes " << features << " (shape "
                     << to_string(shape.sample) << "); change --model to match");
  DDP_CHECK_ARG(dataset->size() > 0, flag << " " << spec << " holds no samples");
  if (shape.normalization) {
    return std::make_shared<data::TensorDataset>(data::normalize(*dataset, *shape.normalization));
  }
  return dataset;
}

std::shared_ptr<const data::Dataset> build_dataset(const std::string& flag, const std::string& spec,
                                                   const DataShape& shape, std::uint64_t seed,
                                                   std::int64_t first_synthetic_sample) {
  if (is_text(spec)) return load_text(flag, spec, shape);
  return fit_to_model(flag, spec, load_dataset(flag, spec, shape, seed, first_synthetic_sample),
                      shape);
}

}  // namespace ddp::train
