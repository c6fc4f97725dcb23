// Built-in generated datasets, identical on every rank from a seed alone (no files, no
// communication).
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/data/dataset.hpp"
#include "ddp/data/tensor_dataset.hpp"

namespace ddp::data {

// The tutorial's RandomDataset(size, length): `length` samples of `size` standard-normal features,
// without labels.
class RandomDataset : public TensorDataset {
 public:
  RandomDataset(std::int64_t size, std::int64_t length, std::uint64_t seed);
};

// A learnable classification task: features ~ N(0, 1); the label is the argmax of a fixed random
// teacher network (features -> 16 tanh units -> classes, logits calibrated so classes are about
// equally common). The `redraw_fraction` of inputs nearest a decision boundary are redrawn, so a
// small MLP can reach high accuracy quickly. Sample i depends only on (seed, i), so any rank can
// generate any sample in any order and get the same bytes.
class SyntheticClassification : public Dataset {
 public:
  SyntheticClassification(std::int64_t samples, std::int64_t features, std::int64_t classes,
                          std::uint64_t seed, float redraw_fraction = 0.7f);

  std::int64_t size() const override { return samples_; }
  std::int64_t feature_count() const override { return features_; }
  std::int64_t class_count() const override { return classes_; }
  void get(std::int64_t index, const SampleSlot& slot) const override;

  // The teacher's label for any feature vector (feature_count() floats).
  std::int64_t teacher_label(const float* x) const;

 private:
  // The calibrated logits of x (classes_ entries).
  void teacher_logits(const float* x, float* logits) const;
  // The gap between the two largest logits; sets label to the largest's class.
  float top_gap(const float* logits, std::int64_t& label) const;

  std::int64_t samples_;
  std::int64_t features_;
  std::int64_t classes_;
  std::uint64_t sample_seed_;
  float redraw_fraction_;
  float margin_ = 0.0f;    // the smallest top-two logit gap a sample may have, from calibration
  std::vector<float> w1_;  // [hidden, features]
  std::vector<float> w2_;  // [classes, hidden]
  std::vector<float> logit_scale_;   // per class, from calibration
  std::vector<float> logit_offset_;  // per class, from calibration
};

}  // namespace ddp::data
