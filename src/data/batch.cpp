#include "ddp/data/batch.hpp"

namespace ddp::data {

Batch collate(const Dataset& dataset, const BatchPlan& plan) {
  const auto n = static_cast<std::int64_t>(plan.indices.size());
  const std::int64_t k = dataset.feature_count();
  const std::int64_t width = dataset.target_width();
  Batch batch;
  // Host memory for now; on a GPU build this is where pinned memory will let copies overlap.
  batch.features = Tensor::empty({n, k});
  if (dataset.class_count() > 0) batch.labels = Tensor::empty({n}, DType::int64);
  if (width > 0) batch.targets = Tensor::empty({n, width});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t index = plan.indices[static_cast<std::size_t>(i)];
    DDP_CHECK(0 <= index && index < dataset.size(),
              "sample " << index << " outside a dataset of " << dataset.size() << " samples");
    SampleSlot slot{batch.features.data<float>() + i * k, nullptr, nullptr};
    if (batch.labels.defined()) slot.label = batch.labels.data<std::int64_t>() + i;
    if (batch.targets.defined()) slot.target = batch.targets.data<float>() + i * width;
    dataset.get(index, slot);
  }
  batch.local_n = n;
  batch.global_n = plan.global_n;
  batch.epoch = plan.epoch;
  batch.batch_index = plan.batch_index;
  batch.sample_indices = plan.indices;
  return batch;
}

}  // namespace ddp::data
