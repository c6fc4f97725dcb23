// PyTorch's "Optional: Data Parallelism" tutorial with ddp: one process per rank instead of one
// process driving every GPU. Each rank runs its own replica of the model on its torch.chunk slice
// of every global batch (the Sampler is the scatter), and rank 0 gathers the outputs whole.
//   mpirun -np 2 build/examples/example-tutorial
#include <iostream>

#include "ddp/comm/runtime.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/parallel/data_parallel.hpp"

using namespace ddp;

constexpr std::int64_t kInputSize = 5;
constexpr std::int64_t kOutputSize = 2;
constexpr std::int64_t kBatchSize = 30;
constexpr std::int64_t kDataSize = 100;

// The tutorial's Model: a Linear that says what it sees. Here every rank prints its own line.
class Model : public nn::Module {
 public:
  explicit Model(Generator& generator) : fc_(kInputSize, kOutputSize, generator) {
    register_module("fc", fc_);
  }

 protected:
  Tensor forward_impl(const Tensor& input) override {
    Tensor output = fc_.forward(input);
    if (input.size(0) > 0) {  // a rank past the end of a short batch has nothing to see
      std::cout << "\tIn Model: input size " << to_string(input.shape()) << " output size "
                << to_string(output.shape()) << std::endl;
    }
    return output;
  }
  Tensor backward_impl(const Tensor& grad_output) override { return fc_.backward(grad_output); }

 private:
  nn::Linear fc_;
};

int main(int argc, char** argv) {
  return run_program(argc, argv, [](Runtime& runtime) {
    ProcessGroup& world = *runtime.world();
    Generator generator(0);
    Model model(generator);
    parallel::replicate(model, world);  // rank 0's weights on every rank: the "replicate" step
    if (runtime.rank() == 0) std::cout << "Let's use " << world.size() << " processes!\n";

    auto dataset = std::make_shared<data::RandomDataset>(kInputSize, kDataSize, 0);
    data::DataLoader loader(
        dataset, std::make_unique<data::GlobalBatchSampler>(
                     kDataSize, data::GlobalBatchOptions{.global_batch_size = kBatchSize},
                     runtime.rank(), world.size()));
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      Tensor output = model.forward(batch->features);
      Tensor gathered = parallel::gather(world, output);  // every rank's rows, on rank 0
      if (runtime.rank() == 0) {
        std::cout << "Outside: input size " << to_string(Shape{batch->global_n, kInputSize})
                  << " output_size " << to_string(gathered.shape()) << std::endl;
      }
    }
    return 0;
  });
}
