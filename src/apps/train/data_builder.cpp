#include "data_builder.hpp"

#include <unistd.h>

#include <charconv>
#include <numeric>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/data/csv.hpp"
#include "ddp/data/idx.hpp"
#include "ddp/data/known_datasets.hpp"
#include "ddp/data/split.hpp"
#include "ddp/data/synthetic.hpp"

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

}  // namespace

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
    DDP_THROW(InvalidArgument, flag
                                   << " '" << spec << "' is not known; use synthetic[:N], "
                                   << "csv:PATH, idx:IMAGES,LABELS or fashion-mnist[:train|:test]");
  }
  return dataset;
}

std::shared_ptr<const data::Dataset> fit_to_model(
    const std::string& flag, const std::string& spec,
    std::shared_ptr<const data::TensorDataset> dataset, const DataShape& shape) {
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
  return fit_to_model(flag, spec, load_dataset(flag, spec, shape, seed, first_synthetic_sample),
                      shape);
}

}  // namespace ddp::train
