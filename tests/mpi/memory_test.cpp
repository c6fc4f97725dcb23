// Soak: 10,000 DDP steps of the tutorial's model (Linear 5 -> 2, SGD, 100 samples in global
// batches of 30, so 2,500 epochs of the prefetching loader), and 1,000 of a ResNet. Memory must
// stay flat after warm-up (allocator pools, MPI buffers, the loader's queue) to the end: a leak of
// L bytes per step would grow it by 9,000 L (900 L for the ResNet).
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>

#include "ddp/core/random.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/models/resnet.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"
#include "mpi_test_env.hpp"

namespace ddp {
namespace {

// RSS moves in pages and with the allocator's trimming: 1 MiB catches a leak of >= 117 B a step
// over 9,000 steps.
constexpr std::int64_t kRssGrowthLimit = std::int64_t{1} << 20;
// The heap in use is exact up to the batches in flight: 64 KiB catches a leak of >= 8 B a step.
constexpr std::int64_t kHeapGrowthLimit = std::int64_t{64} << 10;

struct Memory {
  std::int64_t rss_bytes = 0;
  std::int64_t heap_in_use_bytes = 0;
};

Memory memory_now() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t total_pages = 0, resident_pages = 0;
  statm >> total_pages >> resident_pages;
  EXPECT_TRUE(statm) << "cannot read /proc/self/statm";
  const struct mallinfo2 heap = mallinfo2();
  return {resident_pages * sysconf(_SC_PAGESIZE), static_cast<std::int64_t>(heap.uordblks)};
}

// Trains model with DDP on a synthetic set of `samples` samples of `features` (viewed as
// sample_shape) for `steps` steps, and checks that memory stays flat from step `warmup` on.
void expect_flat_memory(nn::Module& model, const Shape& sample_shape, std::int64_t classes,
                        std::int64_t samples, std::int64_t global_batch, std::int64_t steps,
                        std::int64_t warmup) {
  const std::shared_ptr<ProcessGroup> group = testing_env::runtime->world();
  const int rank = group->rank(), world_size = group->size();
  auto dataset = std::make_shared<data::SyntheticClassification>(samples, numel(sample_shape),
                                                                 classes, /*seed=*/1);
  data::DataLoader loader(
      dataset, std::make_unique<data::GlobalBatchSampler>(
                   dataset->size(), data::GlobalBatchOptions{.global_batch_size = global_batch},
                   rank, world_size));
  parallel::DistributedDataParallel ddp(model, group);
  optim::Sgd optimizer(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  nn::CrossEntropyLoss criterion;

  Memory at_warmup, at_end;
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; step < steps; ++epoch) {
    loader.start_epoch(epoch);
    while (step < steps) {
      std::optional<data::Batch> batch = loader.next();
      if (!batch) break;
      Shape shape = sample_shape;
      shape.insert(shape.begin(), batch->local_n);
      criterion.forward(ddp.forward(batch->features.reshape(shape)), batch->labels,
                        batch->global_n);
      ddp.backward(criterion.backward());
      ddp.finish();
      optimizer.step();
      optimizer.zero_grad();
      if (++step == warmup) at_warmup = memory_now();
    }
  }
  at_end = memory_now();

  std::printf("[rank %d] step %lld -> %lld: RSS %lld -> %lld KiB, heap in use %lld -> %lld KiB\n",
              rank, static_cast<long long>(warmup), static_cast<long long>(steps),
              static_cast<long long>(at_warmup.rss_bytes >> 10),
              static_cast<long long>(at_end.rss_bytes >> 10),
              static_cast<long long>(at_warmup.heap_in_use_bytes >> 10),
              static_cast<long long>(at_end.heap_in_use_bytes >> 10));
  EXPECT_LT(at_end.rss_bytes - at_warmup.rss_bytes, kRssGrowthLimit);
  EXPECT_LT(at_end.heap_in_use_bytes - at_warmup.heap_in_use_bytes, kHeapGrowthLimit);
}

TEST(Soak, MemoryFlatOverTenThousandTutorialSteps) {
  Generator generator(0);
  nn::Linear model(5, 2, generator);
  model.set_input_grad_needed(false);
  expect_flat_memory(model, {5}, 2, 100, 30, 10000, 1000);
}

// The convolutions' im2col buffers, BatchNorm's statistics and the residual sums come from
// workspaces reused step after step: 1,000 steps of ResNet-20 (resnet:3) on 16x16 images, with a
// last batch of another size every epoch, stay flat from step 100.
TEST(Soak, MemoryFlatOverAThousandResNetSteps) {
  const Shape image = {1, 16, 16};
  std::unique_ptr<nn::Sequential> model =
      models::make_resnet({.blocks_per_stage = 3, .input_shape = image, .classes = 10});
  expect_flat_memory(*model, image, 10, 100, 16, 1000, 100);
}

}  // namespace
}  // namespace ddp
