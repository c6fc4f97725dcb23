// scatter, gather and all_gather keep to the device of their tensors: every tensor they hand a
// group is on it, and so are their results. Shown without a GPU: a stand-in allocator serves
// "cuda:0" from host memory, and a one-rank group refuses tensors elsewhere, as an NCCL group
// refuses host tensors.
#include <gtest/gtest.h>

#include <vector>

#include "ddp/core/allocator.hpp"
#include "ddp/core/error.hpp"
#include "ddp/parallel/data_parallel.hpp"

namespace ddp::parallel {
namespace {

const Device kGpu = Device::cuda(0);

// Host memory behind kGpu's kind for the scope; the registered allocator comes back after.
class HostMemoryAsGpu {
 public:
  HostMemoryAsGpu() {
    try {
      previous_ = &allocator_for(kGpu);
    } catch (const Error&) {
      previous_ = nullptr;  // a build without CUDA registers none
    }
    register_allocator(Device::Kind::cuda, &cpu_allocator());
  }
  ~HostMemoryAsGpu() { register_allocator(Device::Kind::cuda, previous_); }
  HostMemoryAsGpu(const HostMemoryAsGpu&) = delete;
  HostMemoryAsGpu& operator=(const HostMemoryAsGpu&) = delete;

 private:
  Allocator* previous_;
};

// One rank whose collectives are copies, for tensors on kGpu only.
class OneRankGpuGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "fake-gpu"; }

  WorkPtr all_reduce_async(Tensor input, Tensor output, ReduceOp) override {
    return copied(input, output, "all_reduce");
  }
  WorkPtr broadcast_async(Tensor tensor, int) override {
    return copied(tensor, tensor, "broadcast");
  }
  WorkPtr all_gather_async(Tensor input, Tensor output) override {
    return copied(input, output, "all_gather");
  }
  WorkPtr all_gatherv_async(Tensor input, Tensor output, Counts) override {
    return copied(input, output, "all_gatherv");
  }
  WorkPtr gatherv_async(Tensor input, Tensor output, Counts, int) override {
    return copied(input, output, "gatherv");
  }
  WorkPtr scatterv_async(Tensor input, Tensor output, Counts, int) override {
    return copied(input, output, "scatterv");
  }
  WorkPtr reduce_scatter_async(Tensor input, Tensor output, ReduceOp) override {
    return copied(input, output, "reduce_scatter");
  }
  WorkPtr barrier_async() override { return done(); }
  std::shared_ptr<ProcessGroup> split(int, int) override { return nullptr; }

 private:
  static WorkPtr done() {
    auto work = std::make_shared<Work>();
    work->mark_completed();
    return work;
  }
  static WorkPtr copied(const Tensor& input, const Tensor& output, const char* collective) {
    for (const Tensor* t : {&input, &output}) {
      DDP_CHECK(t->defined() && t->device() == kGpu,
                collective << ": this group takes tensors on cuda:0 only, got "
                           << (t->defined() ? to_string(t->device()) : "an undefined tensor"));
    }
    if (input.data_ptr() != output.data_ptr()) Tensor(output).copy_(input);
    return done();
  }
};

TEST(DataParallelDevices, ScatterGatherAndAllGatherStayOnTheGroupsDevice) {
  HostMemoryAsGpu memory;
  OneRankGpuGroup group;
  const std::vector<float> rows{0, 1, 2, 3, 4, 5};
  // Root's input on the host: scatter moves it to the device it is told.
  Tensor mine = scatter(group, Tensor::from_vector(rows, {3, 2}), 0, kGpu);
  EXPECT_EQ(mine.device(), kGpu);
  EXPECT_EQ(mine.shape(), (Shape{3, 2}));
  EXPECT_EQ(mine.to_vector<float>(), rows);

  Tensor gathered = gather(group, mine, 0);
  EXPECT_EQ(gathered.device(), kGpu);
  EXPECT_EQ(gathered.to_vector<float>(), rows);

  Tensor everywhere = all_gather(group, mine);
  EXPECT_EQ(everywhere.device(), kGpu);
  EXPECT_EQ(everywhere.to_vector<float>(), rows);
}

}  // namespace
}  // namespace ddp::parallel
