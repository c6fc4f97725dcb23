// Dataset: the interface every data source implements, a size and "write sample i into a batch".
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::data {

// Where get() writes one sample; a pointer is null when the dataset has no such part.
struct SampleSlot {
  float* features = nullptr;       // feature_count() floats, sample_shape() in row-major order
  std::int64_t* label = nullptr;   // numel(label_shape()) class indices in [0, class_count()),
                                   // when class_count() > 0
  float* target = nullptr;         // target_width() floats, when target_width() > 0
  std::int64_t* tokens = nullptr;  // feature_count() int64 ids instead of features, when
                                   // feature_dtype() is int64
};

// Samples are numbered 0..size()-1. get() is const and must be safe to call from the loader's
// background thread while the caller's thread reads other samples.
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual std::int64_t size() const = 0;
  virtual std::int64_t feature_count() const = 0;
  // One sample's features as a tensor sees them ({1, 28, 28} for an image); feature_count()
  // elements. A batch of n samples is [n, sample_shape()...].
  virtual Shape sample_shape() const { return {feature_count()}; }
  // Classification datasets carry int64 labels in [0, class_count()); 0 means no labels.
  virtual std::int64_t class_count() const { return 0; }
  // float32 features, or int64 token ids (text) written to SampleSlot::tokens instead.
  virtual DType feature_dtype() const { return DType::float32; }
  // One sample's class indices: {} for one label, {T} for a text window's T next tokens. A batch's
  // labels are [n, label_shape()...].
  virtual Shape label_shape() const { return {}; }
  // Regression datasets carry float32 targets of this width; 0 means no targets.
  virtual std::int64_t target_width() const { return 0; }

  // Writes sample `index` (0 <= index < size()) into `slot`.
  virtual void get(std::int64_t index, const SampleSlot& slot) const = 0;
};

}  // namespace ddp::data
