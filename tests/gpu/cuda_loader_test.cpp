// The loader's GPU path: batches collated in pinned memory and copied to the device equal the
// host batches, whatever the prefetch.
#include <memory>
#include <vector>

#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/synthetic.hpp"
#include "gpu_test.hpp"

namespace ddp::data {
namespace {

using CudaLoader = GpuTest;

std::vector<Batch> epoch_of(const std::shared_ptr<const Dataset>& dataset, const Device& device,
                            int prefetch) {
  DataLoader loader(dataset,
                    std::make_unique<GlobalBatchSampler>(
                        dataset->size(), GlobalBatchOptions{.global_batch_size = 64, .seed = 3},
                        /*rank=*/1, /*world_size=*/2),
                    {.prefetch = prefetch, .device = device});
  loader.start_epoch(2);
  std::vector<Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

TEST_F(CudaLoader, DeviceBatchesEqualHostBatches) {
  auto dataset = std::make_shared<SyntheticClassification>(1000, 20, 5, 7);
  const std::vector<Batch> host = epoch_of(dataset, Device::cpu(), 0);
  ASSERT_EQ(host.size(), 16u);  // the last global batch of 40 gives this rank 20 rows
  for (int prefetch : {0, 2}) {
    const std::vector<Batch> gpu = epoch_of(dataset, Device::cuda(0), prefetch);
    ASSERT_EQ(gpu.size(), host.size());
    for (std::size_t i = 0; i < host.size(); ++i) {
      EXPECT_EQ(gpu[i].features.device(), Device::cuda(0));
      EXPECT_EQ(gpu[i].labels.device(), Device::cuda(0));
      EXPECT_EQ(gpu[i].local_n, host[i].local_n);
      EXPECT_EQ(gpu[i].sample_indices, host[i].sample_indices);
      EXPECT_EQ(gpu[i].features.to_vector<float>(), host[i].features.to_vector<float>());
      EXPECT_EQ(gpu[i].labels.to_vector<std::int64_t>(), host[i].labels.to_vector<std::int64_t>());
    }
  }
}

}  // namespace
}  // namespace ddp::data
