#include "ddp/data/tensor_dataset.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "ddp/data/batch.hpp"

namespace ddp::data {

TensorDataset::TensorDataset(Tensor features, Tensor targets, std::int64_t class_count)
    : features_(std::move(features)), targets_(std::move(targets)), class_count_(class_count) {
  DDP_CHECK_ARG(features_.defined() && features_.dtype() == DType::float32 &&
                    features_.ndim() >= 2 && features_.device().is_cpu(),
                "TensorDataset needs float32 [n, k] or [n, d1, ...] features on the CPU, not "
                    << to_string(features_.dtype()) << to_string(features_.shape()));
  feature_count_ = numel(sample_shape());
  DDP_CHECK_ARG(class_count >= 0, "class count " << class_count << " is negative");
  if (!targets_.defined()) {
    DDP_CHECK_ARG(class_count == 0, "TensorDataset: a class count without labels");
    return;
  }
  const std::int64_t n = features_.size(0);
  DDP_CHECK_ARG(
      targets_.ndim() >= 1 && targets_.size(0) == n && targets_.device().is_cpu(),
      "TensorDataset: " << n << " samples but targets of shape " << to_string(targets_.shape()));
  if (targets_.dtype() == DType::int64) {
    DDP_CHECK_ARG(targets_.ndim() == 1, "TensorDataset: class labels must be int64 [n], not "
                                            << to_string(targets_.shape()));
    const std::int64_t* labels = targets_.data<std::int64_t>();
    if (class_count_ == 0 && n > 0) class_count_ = *std::max_element(labels, labels + n) + 1;
    for (std::int64_t i = 0; i < n; ++i) {
      DDP_CHECK_ARG(
          0 <= labels[i] && labels[i] < class_count_,
          "label " << labels[i] << " of sample " << i << " outside [0, " << class_count_ << ")");
    }
    return;
  }
  DDP_CHECK_ARG(targets_.dtype() == DType::float32 && targets_.ndim() <= 2 && class_count == 0,
                "TensorDataset: targets must be int64 [n] labels or float32 [n] / [n, w] values, "
                "not "
                    << to_string(targets_.dtype()) << to_string(targets_.shape()));
  target_width_ = targets_.ndim() == 2 ? targets_.size(1) : 1;
}

Shape TensorDataset::sample_shape() const {
  return Shape(features_.shape().begin() + 1, features_.shape().end());
}

void TensorDataset::get(std::int64_t index, const SampleSlot& slot) const {
  const std::int64_t k = feature_count();
  std::memcpy(slot.features, features_.data<float>() + index * k, sizeof(float) * k);
  if (class_count_ > 0 && slot.label != nullptr) {
    *slot.label = targets_.data<std::int64_t>()[index];
  }
  if (target_width_ > 0 && slot.target != nullptr) {
    std::memcpy(slot.target, targets_.data<float>() + index * target_width_,
                sizeof(float) * target_width_);
  }
}

TensorDataset load_into_memory(const Dataset& dataset) {
  BatchPlan everything;
  everything.global_n = dataset.size();
  everything.indices.resize(static_cast<std::size_t>(dataset.size()));
  std::iota(everything.indices.begin(), everything.indices.end(), std::int64_t{0});
  Batch batch = collate(dataset, everything);
  return TensorDataset(batch.features, batch.labels.defined() ? batch.labels : batch.targets,
                       dataset.class_count());
}

}  // namespace ddp::data
