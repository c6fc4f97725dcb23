// ddp-tutorial: PyTorch's DataParallel tutorial, one process per rank. Every global batch of the
// random dataset is cut with torch.chunk's sizes; each rank's Linear reports the slice it sees and
// rank 0 prints the sizes and the output gathered from all ranks, as the tutorial does.
#include <iostream>

#include "cli_options.hpp"
#include "ddp/comm/runtime.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/parallel/data_parallel.hpp"

namespace {

namespace po = boost::program_options;
using namespace ddp;

struct TutorialOptions {
  std::int64_t input_size = 5;   // features per sample
  std::int64_t output_size = 2;  // the Linear's outputs
  std::int64_t batch_size = 30;  // the global batch, cut over the ranks
  std::int64_t data_size = 100;  // samples in the random dataset
  std::uint64_t seed = 0;        // data, shuffle and initial weights; the same on every rank
};

int run(Runtime& runtime, int argc, char** argv) {
  TutorialOptions o;
  po::options_description description("ddp-tutorial: the DataParallel tutorial across ranks");
  description.add_options()("help,h", "show this help")(
      "input-size", po::value(&o.input_size)->default_value(o.input_size), "features per sample")(
      "output-size", po::value(&o.output_size)->default_value(o.output_size), "model outputs")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "global batch size")(
      "data-size", po::value(&o.data_size)->default_value(o.data_size), "samples in the dataset")(
      "seed", po::value(&o.seed)->default_value(o.seed), "seed for data, shuffle and weights");
  if (!cli::parse_options(argc, argv, description, runtime.world().get())) return 0;
  DDP_CHECK_ARG(o.input_size > 0, "--input-size must be at least 1, got " << o.input_size);
  DDP_CHECK_ARG(o.output_size > 0, "--output-size must be at least 1, got " << o.output_size);
  DDP_CHECK_ARG(o.batch_size > 0, "--batch-size must be at least 1, got " << o.batch_size);
  DDP_CHECK_ARG(o.data_size > 0, "--data-size must be at least 1, got " << o.data_size);

  ProcessGroup& world = *runtime.world();
  const int ranks = world.size();
  Generator generator(o.seed);
  nn::Linear model(o.input_size, o.output_size, generator);
  parallel::replicate(model, world);

  auto dataset = std::make_shared<data::RandomDataset>(o.input_size, o.data_size, o.seed);
  data::GlobalBatchOptions sampling{
      .global_batch_size = o.batch_size, .shuffle = true, .seed = o.seed};
  data::DataLoader loader(dataset, std::make_unique<data::GlobalBatchSampler>(
                                       o.data_size, sampling, runtime.rank(), ranks));
  if (runtime.rank() == 0)
    std::cout << "Let's use " << ranks << (ranks == 1 ? " process!\n" : " processes!\n");

  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    Tensor output = model.forward(batch->features);
    // What this rank's model saw, as one row [in rows, in cols, out rows, out cols] per rank, and
    // the slices' outputs concatenated whole on rank 0: DataParallel's gather.
    Tensor seen = Tensor::from_vector<std::int64_t>(
        {batch->features.size(0), o.input_size, output.size(0), o.output_size}, {1, 4});
    Tensor all_seen = parallel::gather(world, seen);
    Tensor gathered = parallel::gather(world, output);

    if (runtime.rank() != 0) continue;
    const std::int64_t* sizes = all_seen.data<std::int64_t>();
    for (int r = 0; r < ranks; ++r, sizes += 4) {
      if (sizes[0] == 0) continue;  // an empty slice: torch.chunk gives this replica nothing
      std::cout << "\tIn Model: input size " << to_string(Shape{sizes[0], sizes[1]})
                << " output size " << to_string(Shape{sizes[2], sizes[3]}) << "\n";
    }
    std::cout << "Outside: input size " << to_string(Shape{batch->global_n, o.input_size})
              << " output_size " << to_string(gathered.shape()) << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [&](Runtime& runtime) { return run(runtime, argc, argv); });
}
