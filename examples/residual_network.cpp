// A model defined outside the library, trained data-parallel by a hand-written loop: a residual
// network with its own forward and backward, DistributedDataParallel, a GlobalBatchSampler, SGD.
// Every rank runs this same program on its slice of each global batch.
//   mpirun -np 2 build/examples/example-residual-network [--epochs 5] [--export-params FILE]
#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>

#include "ddp/comm/runtime.hpp"
#include "ddp/data/global_batch_sampler.hpp"
#include "ddp/data/loader.hpp"
#include "ddp/data/split.hpp"
#include "ddp/data/synthetic.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/pointwise.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/optim/sgd.hpp"
#include "ddp/parallel/distributed_data_parallel.hpp"

using namespace ddp;

// y = x + fc2(relu(fc1(x))), written out (nn::Residual does this for any branch). Backward runs
// the children in reverse and adds the two paths' gradients; the sums' memory is per call.
class Block : public nn::Module {
 public:
  Block(std::int64_t width, Generator& generator)
      : fc1_(width, width, generator), fc2_(width, width, generator) {
    register_module("fc1", fc1_);
    register_module("fc2", fc2_);
  }

 protected:
  Tensor forward_impl(const Tensor& x) override {
    Tensor branch = fc2_.forward(relu_.forward(fc1_.forward(x)));
    Tensor y = outputs_[call_index()].get(x.shape(), x.device());
    kernels::add(x, branch, y);
    return y;
  }
  Tensor backward_impl(const Tensor& dy) override {
    Tensor through_branch = fc1_.backward(relu_.backward(fc2_.backward(dy)));
    Tensor dx = input_grads_[call_index()].get(dy.shape(), dy.device());
    kernels::add(dy, through_branch, dx);
    return dx;
  }

 private:
  nn::Linear fc1_, fc2_;
  nn::ReLU relu_;
  nn::CallFrames<nn::Workspace> outputs_, input_grads_;
};

// features -> Linear -> ReLU -> Block -> Block -> Linear -> class logits. Its backward is its
// forward read backwards, line by line.
class ResidualNet : public nn::Module {
 public:
  ResidualNet(std::int64_t features, std::int64_t width, std::int64_t classes, Generator& g)
      : stem_(features, width, g), block1_(width, g), block2_(width, g), head_(width, classes, g) {
    register_module("stem", stem_);
    register_module("block1", block1_);
    register_module("block2", block2_);
    register_module("head", head_);
    stem_.set_input_grad_needed(false);  // the input is data: no gradient needed
  }

 protected:
  Tensor forward_impl(const Tensor& x) override {
    return head_.forward(block2_.forward(block1_.forward(relu_.forward(stem_.forward(x)))));
  }
  Tensor backward_impl(const Tensor& dy) override {
    return stem_.backward(relu_.backward(block1_.backward(block2_.backward(head_.backward(dy)))));
  }

 private:
  nn::Linear stem_;
  nn::ReLU relu_;
  Block block1_, block2_;
  nn::Linear head_;
};

int main(int argc, char** argv) {
  return run_program(argc, argv, [&](Runtime& runtime) {
    namespace po = boost::program_options;
    std::int64_t epochs = 5;
    std::string export_path;
    po::options_description options("example-residual-network");
    options.add_options()("epochs", po::value(&epochs)->default_value(epochs), "passes")(
        "export-params", po::value(&export_path), "write the trained parameters (rank 0)");
    po::variables_map values;
    po::store(po::parse_command_line(argc, argv, options), values);
    po::notify(values);

    const int rank = runtime.rank(), ranks = runtime.world_size();
    auto all = std::make_shared<data::SyntheticClassification>(20000, 32, 10, /*seed=*/0);
    const data::TrainValSplit split = data::split_train_val(all, 0.1, 0);
    Generator generator(0);
    ResidualNet model(32, 64, 10, generator);
    parallel::DistributedDataParallel ddp(model, runtime.world());  // replicates rank 0's weights
    optim::Sgd optimizer(model.parameters(), {.lr = 0.05, .momentum = 0.9});
    nn::CrossEntropyLoss criterion;
    data::DataLoader train(
        split.train,
        std::make_unique<data::GlobalBatchSampler>(
            split.train->size(), data::GlobalBatchOptions{.global_batch_size = 128}, rank, ranks));
    data::DataLoader val(split.val, std::make_unique<data::GlobalBatchSampler>(
                                        data::GlobalBatchSampler::for_evaluation(
                                            split.val->size(), 500, rank, ranks)));
    for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
      double loss = 0;  // this rank's share of each step's global mean loss, summed
      train.start_epoch(epoch);
      while (auto batch = train.next()) {
        // Normalised by the global batch: summed over the ranks, it is the global batch's mean.
        loss += criterion.forward(ddp.forward(batch->features), batch->labels, batch->global_n);
        ddp.backward(criterion.backward());
        ddp.finish();  // the gradients are now summed over the ranks
        optimizer.step();
        optimizer.zero_grad();
      }
      double correct = 0, seen = 0;
      model.eval();
      val.start_epoch(0);
      while (auto batch = val.next()) {
        const std::vector<float> logits = model.forward(batch->features).to_vector<float>();
        const std::vector<std::int64_t> labels = batch->labels.to_vector<std::int64_t>();
        for (std::int64_t i = 0; i < batch->local_n; ++i) {
          const float* row = logits.data() + i * 10;
          correct += std::max_element(row, row + 10) - row == labels[static_cast<std::size_t>(i)];
        }
        seen += static_cast<double>(batch->local_n);
      }
      model.train();
      Tensor sums = Tensor::from_vector<double>({loss, correct, seen}, {3});
      runtime.world()->all_reduce(sums);
      const double* s = sums.data<double>();
      if (rank == 0) {
        std::cout << "epoch " << epoch + 1 << ": train loss "
                  << s[0] / static_cast<double>(train.batches_per_epoch()) << "  val accuracy "
                  << 100 * s[1] / s[2] << "%" << std::endl;
      }
    }
    if (rank == 0 && !export_path.empty()) io::export_model(model, export_path);
    return 0;
  });
}
