#include "ddp/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"

namespace ddp::data {
namespace {

constexpr std::int64_t kTeacherHidden = 16;
// Enough draws to estimate each logit's mean and spread to about 2%.
constexpr std::size_t kCalibrationSamples = 4096;
// Rounds of nudging the class offsets towards equal class shares.
constexpr int kBalanceRounds = 100;
// Gives up redrawing a sample after this many tries (0.7^64: never, in practice).
constexpr int kMaxDraws = 64;

// Independent streams of one seed: the teacher's weights, its calibration inputs, the samples.
enum Stream : std::uint64_t { kTeacherStream = 1, kCalibrationStream = 2, kSampleStream = 3 };

Tensor normal_features(std::int64_t size, std::int64_t length, std::uint64_t seed) {
  DDP_CHECK_ARG(size >= 1 && length >= 0,
                "RandomDataset(size " << size << ", length " << length << ") needs size >= 1");
  Tensor features = Tensor::empty({length, size});
  Generator generator(seed);
  float* data = features.data<float>();
  for (std::int64_t i = 0; i < features.numel(); ++i) data[i] = generator.normal();
  return features;
}

}  // namespace

RandomDataset::RandomDataset(std::int64_t size, std::int64_t length, std::uint64_t seed)
    : TensorDataset(normal_features(size, length, seed)) {}

SyntheticClassification::SyntheticClassification(std::int64_t samples, std::int64_t features,
                                                 std::int64_t classes, std::uint64_t seed,
                                                 float redraw_fraction)
    : samples_(samples),
      features_(features),
      classes_(classes),
      sample_seed_(derive_seed(seed, kSampleStream)),
      redraw_fraction_(redraw_fraction) {
  DDP_CHECK_ARG(samples >= 0 && features >= 1 && classes >= 2,
                "synthetic task of " << samples << " samples, " << features << " features and "
                                     << classes << " classes: needs >= 1 feature, >= 2 classes");
  DDP_CHECK_ARG(redraw_fraction >= 0.0f && redraw_fraction <= 0.9f,
                "synthetic task redraw fraction " << redraw_fraction << " must be in [0, 0.9]");
  Generator teacher(derive_seed(seed, kTeacherStream));
  const float w1_scale = 1.0f / std::sqrt(static_cast<float>(features));
  const float w2_scale = 1.0f / std::sqrt(static_cast<float>(kTeacherHidden));
  w1_.resize(static_cast<std::size_t>(kTeacherHidden * features));
  for (float& w : w1_) w = teacher.normal() * w1_scale;
  w2_.resize(static_cast<std::size_t>(classes * kTeacherHidden));
  for (float& w : w2_) w = teacher.normal() * w2_scale;

  // Calibration on inputs of its own stream: standardise each logit, then shift the classes so
  // that after the redraws each is about equally common (accuracy then means something), and
  // find the gap between the top two logits below which redraw_fraction of inputs fall.
  logit_scale_.assign(static_cast<std::size_t>(classes), 1.0f);
  logit_offset_.assign(static_cast<std::size_t>(classes), 0.0f);
  const auto c_count = static_cast<std::size_t>(classes);
  std::vector<float> x(static_cast<std::size_t>(features));
  std::vector<float> raw(kCalibrationSamples * c_count);
  Generator calibration(derive_seed(seed, kCalibrationStream));
  for (std::size_t s = 0; s < kCalibrationSamples; ++s) {
    for (float& value : x) value = calibration.normal();
    teacher_logits(x.data(), raw.data() + s * c_count);
  }
  for (std::size_t c = 0; c < c_count; ++c) {
    double sum = 0, sum_sq = 0;
    for (std::size_t s = 0; s < kCalibrationSamples; ++s) {
      sum += raw[s * c_count + c];
      sum_sq += static_cast<double>(raw[s * c_count + c]) * raw[s * c_count + c];
    }
    const double mean = sum / kCalibrationSamples;
    const double std = std::sqrt(std::max(sum_sq / kCalibrationSamples - mean * mean, 1e-12));
    logit_scale_[c] = static_cast<float>(1.0 / std);
    logit_offset_[c] = static_cast<float>(-mean / std);
  }
  std::vector<float> logits(c_count), gaps(kCalibrationSamples);
  std::vector<std::int64_t> labels(kCalibrationSamples);
  std::vector<double> counts(c_count);
  for (int round = 0; round < kBalanceRounds; ++round) {
    for (std::size_t s = 0; s < kCalibrationSamples; ++s) {
      for (std::size_t c = 0; c < c_count; ++c) {
        logits[c] = raw[s * c_count + c] * logit_scale_[c] + logit_offset_[c];
      }
      gaps[s] = top_gap(logits.data(), labels[s]);
    }
    std::vector<float> sorted = gaps;
    const auto cut = static_cast<std::size_t>(redraw_fraction_ * kCalibrationSamples);
    std::nth_element(sorted.begin(), sorted.begin() + cut, sorted.end());
    margin_ = sorted[cut];
    std::fill(counts.begin(), counts.end(), 0.0);
    double accepted = 0;
    for (std::size_t s = 0; s < kCalibrationSamples; ++s) {
      if (gaps[s] >= margin_) {
        counts[static_cast<std::size_t>(labels[s])] += 1;
        accepted += 1;
      }
    }
    // A multiplicative step towards equal shares; the floor keeps an empty class's step finite.
    for (std::size_t c = 0; c < c_count; ++c) {
      const double share = std::max(counts[c] / std::max(accepted, 1.0), 0.1 / classes);
      logit_offset_[c] += static_cast<float>(0.1 * std::log(1.0 / (classes * share)));
    }
  }
}

float SyntheticClassification::top_gap(const float* logits, std::int64_t& label) const {
  float best = -std::numeric_limits<float>::infinity(), second = best;
  for (std::int64_t c = 0; c < classes_; ++c) {
    if (logits[c] > best) {
      second = best;
      best = logits[c];
      label = c;
    } else if (logits[c] > second) {
      second = logits[c];
    }
  }
  return best - second;
}

void SyntheticClassification::teacher_logits(const float* x, float* logits) const {
  float hidden[kTeacherHidden];
  for (std::int64_t j = 0; j < kTeacherHidden; ++j) {
    const float* w = w1_.data() + j * features_;
    float pre = 0.0f;
    for (std::int64_t k = 0; k < features_; ++k) pre += w[k] * x[k];
    hidden[j] = std::tanh(pre);
  }
  for (std::int64_t c = 0; c < classes_; ++c) {
    const float* w = w2_.data() + c * kTeacherHidden;
    float logit = 0.0f;
    for (std::int64_t j = 0; j < kTeacherHidden; ++j) logit += w[j] * hidden[j];
    logits[c] = logit * logit_scale_[static_cast<std::size_t>(c)] +
                logit_offset_[static_cast<std::size_t>(c)];
  }
}

std::int64_t SyntheticClassification::teacher_label(const float* x) const {
  std::vector<float> logits(static_cast<std::size_t>(classes_));
  teacher_logits(x, logits.data());
  std::int64_t label = 0;
  top_gap(logits.data(), label);
  return label;
}

void SyntheticClassification::get(std::int64_t index, const SampleSlot& slot) const {
  Generator generator(derive_seed(sample_seed_, static_cast<std::uint64_t>(index)));
  std::vector<float> logits(static_cast<std::size_t>(classes_));
  std::int64_t label = 0;
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    for (std::int64_t k = 0; k < features_; ++k) slot.features[k] = generator.normal();
    teacher_logits(slot.features, logits.data());
    if (top_gap(logits.data(), label) >= margin_) break;
  }
  if (slot.label != nullptr) *slot.label = label;
}

}  // namespace ddp::data
