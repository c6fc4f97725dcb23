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
constexpr int kCalibrationSamples = 4096;
// Gives up redrawing a sample after this many tries, so many classes cannot loop forever.
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
                                                 float margin)
    : samples_(samples),
      features_(features),
      classes_(classes),
      sample_seed_(derive_seed(seed, kSampleStream)),
      margin_(margin) {
  DDP_CHECK_ARG(samples >= 0 && features >= 1 && classes >= 2,
                "synthetic task of " << samples << " samples, " << features << " features and "
                                     << classes << " classes: needs >= 1 feature, >= 2 classes");
  DDP_CHECK_ARG(margin >= 0.0f, "synthetic task margin " << margin << " is negative");
  Generator teacher(derive_seed(seed, kTeacherStream));
  const float w1_scale = 1.0f / std::sqrt(static_cast<float>(features));
  const float w2_scale = 1.0f / std::sqrt(static_cast<float>(kTeacherHidden));
  w1_.resize(static_cast<std::size_t>(kTeacherHidden * features));
  for (float& w : w1_) w = teacher.normal() * w1_scale;
  w2_.resize(static_cast<std::size_t>(classes * kTeacherHidden));
  for (float& w : w2_) w = teacher.normal() * w2_scale;

  // Standardising each logit over typical inputs keeps one class from taking most samples.
  logit_mean_.assign(static_cast<std::size_t>(classes), 0.0f);
  logit_inv_std_.assign(static_cast<std::size_t>(classes), 1.0f);
  std::vector<double> sum(static_cast<std::size_t>(classes)), sum_sq(sum.size());
  std::vector<float> x(static_cast<std::size_t>(features)), logits(sum.size());
  Generator calibration(derive_seed(seed, kCalibrationStream));
  for (int s = 0; s < kCalibrationSamples; ++s) {
    for (float& value : x) value = calibration.normal();
    teacher_logits(x.data(), logits.data());
    for (std::size_t c = 0; c < logits.size(); ++c) {
      sum[c] += logits[c];
      sum_sq[c] += static_cast<double>(logits[c]) * logits[c];
    }
  }
  for (std::size_t c = 0; c < logits.size(); ++c) {
    const double mean = sum[c] / kCalibrationSamples;
    const double variance = std::max(sum_sq[c] / kCalibrationSamples - mean * mean, 1e-12);
    logit_mean_[c] = static_cast<float>(mean);
    logit_inv_std_[c] = static_cast<float>(1.0 / std::sqrt(variance));
  }
}

float SyntheticClassification::teacher_logits(const float* x, float* logits) const {
  float hidden[kTeacherHidden];
  for (std::int64_t j = 0; j < kTeacherHidden; ++j) {
    const float* w = w1_.data() + j * features_;
    float pre = 0.0f;
    for (std::int64_t k = 0; k < features_; ++k) pre += w[k] * x[k];
    hidden[j] = std::tanh(pre);
  }
  float best = -std::numeric_limits<float>::infinity(), second = best;
  for (std::int64_t c = 0; c < classes_; ++c) {
    const float* w = w2_.data() + c * kTeacherHidden;
    float logit = 0.0f;
    for (std::int64_t j = 0; j < kTeacherHidden; ++j) logit += w[j] * hidden[j];
    logits[c] = (logit - logit_mean_[c]) * logit_inv_std_[c];
    if (logits[c] > best) {
      second = best;
      best = logits[c];
    } else if (logits[c] > second) {
      second = logits[c];
    }
  }
  return best - second;
}

std::int64_t SyntheticClassification::teacher_label(const float* x) const {
  std::vector<float> logits(static_cast<std::size_t>(classes_));
  teacher_logits(x, logits.data());
  return std::max_element(logits.begin(), logits.end()) - logits.begin();
}

void SyntheticClassification::get(std::int64_t index, const SampleSlot& slot) const {
  Generator generator(derive_seed(sample_seed_, static_cast<std::uint64_t>(index)));
  std::vector<float> logits(static_cast<std::size_t>(classes_));
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    for (std::int64_t k = 0; k < features_; ++k) slot.features[k] = generator.normal();
    if (teacher_logits(slot.features, logits.data()) >= margin_) break;
  }
  if (slot.label != nullptr) {
    *slot.label = std::max_element(logits.begin(), logits.end()) - logits.begin();
  }
}

}  // namespace ddp::data
