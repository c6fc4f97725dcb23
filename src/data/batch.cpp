#include "ddp/data/batch.hpp"

namespace ddp::data {

namespace {

// Pinned memory is copied by the GPU's copy engine straight from where collate wrote it.
Tensor host_tensor(Shape shape, DType dtype, const Device& device) {
  return device.is_cpu() ? Tensor::empty(std::move(shape), dtype)
                         : Tensor::empty_pinned(std::move(shape), dtype);
}

}  // namespace

Batch collate(const Dataset& dataset, const BatchPlan& plan, const Device& device) {
  const auto n = static_cast<std::int64_t>(plan.indices.size());
  const std::int64_t k = dataset.feature_count();
  const std::int64_t width = dataset.target_width();
  const bool tokens = dataset.feature_dtype() == DType::int64;
  DDP_CHECK(tokens || dataset.feature_dtype() == DType::float32,
            "a dataset's features are float32 or int64 tokens, not "
                << to_string(dataset.feature_dtype()));
  Batch batch;
  Shape shape = dataset.sample_shape();
  DDP_CHECK(numel(shape) == k,
            "a sample of shape " << to_string(shape) << " is not " << k << " features");
  shape.insert(shape.begin(), n);
  batch.features = host_tensor(std::move(shape), dataset.feature_dtype(), device);
  Shape label_shape = dataset.label_shape();
  const std::int64_t labels_per_sample = numel(label_shape);
  label_shape.insert(label_shape.begin(), n);
  if (dataset.class_count() > 0) batch.labels = host_tensor(label_shape, DType::int64, device);
  if (width > 0) batch.targets = host_tensor({n, width}, DType::float32, device);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t index = plan.indices[static_cast<std::size_t>(i)];
    DDP_CHECK(0 <= index && index < dataset.size(),
              "sample " << index << " outside a dataset of " << dataset.size() << " samples");
    SampleSlot slot;
    if (tokens) {
      slot.tokens = batch.features.data<std::int64_t>() + i * k;
    } else {
      slot.features = batch.features.data<float>() + i * k;
    }
    if (batch.labels.defined()) {
      slot.label = batch.labels.data<std::int64_t>() + i * labels_per_sample;
    }
    if (batch.targets.defined()) slot.target = batch.targets.data<float>() + i * width;
    dataset.get(index, slot);
  }
  batch.local_n = n;
  batch.global_n = plan.global_n;
  batch.epoch = plan.epoch;
  batch.batch_index = plan.batch_index;
  batch.sample_indices = plan.indices;
  if (!device.is_cpu()) {
    batch.features = batch.features.to(device);
    if (batch.labels.defined()) batch.labels = batch.labels.to(device);
    if (batch.targets.defined()) batch.targets = batch.targets.to(device);
  }
  return batch;
}

}  // namespace ddp::data
