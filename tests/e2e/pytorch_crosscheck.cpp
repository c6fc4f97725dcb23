// The ddp half of the PyTorch cross-check (run by hand through pytorch_crosscheck.py, not by
// ctest): trains the MLP the script describes from PyTorch's exported initial parameters on the
// same batches, with SGD (momentum) and AdamW, and writes the final parameters for comparison.
//   usage: ddp_pytorch_crosscheck DIR   (DIR holds config.txt, init.bin, x.bin, y.bin)
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"

namespace {

using namespace ddp;

// What the script wrote into config.txt, one "key value" a line.
struct Config {
  std::vector<std::int64_t> widths;
  std::int64_t batch = 0;
  std::int64_t steps = 0;
  optim::SgdOptions sgd;
  optim::AdamwOptions adamw;
};

Config read_config(const std::string& path) {
  std::ifstream in(path);
  DDP_CHECK(in.good(), "cannot open " << path << "; run pytorch_crosscheck.py, which writes it");
  Config config;
  std::string key;
  while (in >> key) {
    if (key == "widths") {
      std::int64_t count = 0;
      in >> count;
      config.widths.resize(static_cast<std::size_t>(count));
      for (auto& w : config.widths) in >> w;
    } else if (key == "batch") {
      in >> config.batch;
    } else if (key == "steps") {
      in >> config.steps;
    } else if (key == "sgd") {
      in >> config.sgd.lr >> config.sgd.momentum >> config.sgd.dampening >>
          config.sgd.weight_decay >> config.sgd.nesterov;
    } else if (key == "adamw") {
      in >> config.adamw.lr >> config.adamw.beta1 >> config.adamw.beta2 >> config.adamw.eps >>
          config.adamw.weight_decay;
    } else {
      DDP_THROW(Error, "unknown key '" << key << "' in " << path);
    }
  }
  return config;
}

template <typename T>
Tensor read_tensor(const std::string& path, Shape shape) {
  Tensor t = Tensor::empty(std::move(shape), dtype_of<T>());
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  DDP_CHECK(in.good(), "cannot read " << t.nbytes() << " bytes from " << path);
  return t;
}

void train(const Config& config, const std::string& dir, const std::string& optimizer_name) {
  Generator unused(0);
  nn::Sequential model;
  for (std::size_t i = 0; i + 1 < config.widths.size(); ++i) {
    model.emplace<nn::Linear>(config.widths[i], config.widths[i + 1], unused);
    if (i + 2 < config.widths.size()) model.emplace<nn::ReLU>();
  }
  model.set_input_grad_needed(false);
  io::import_parameters(model.parameters(), dir + "/init.bin");
  const std::int64_t rows = config.batch * config.steps;
  Tensor x = read_tensor<float>(dir + "/x.bin", {rows, config.widths.front()});
  Tensor y = read_tensor<std::int64_t>(dir + "/y.bin", {rows});
  std::unique_ptr<optim::Optimizer> optimizer;
  if (optimizer_name == "sgd") {
    optimizer = std::make_unique<optim::Sgd>(model.parameters(), config.sgd);
  } else {
    optimizer = std::make_unique<optim::Adamw>(model.parameters(), config.adamw);
  }
  nn::CrossEntropyLoss loss;
  for (std::int64_t step = 0; step < config.steps; ++step) {
    const std::int64_t begin = step * config.batch;
    optimizer->zero_grad();
    const float value = loss.forward(model.forward(x.rows(begin, begin + config.batch)),
                                     y.rows(begin, begin + config.batch));
    model.backward(loss.backward());
    optimizer->step();
    std::cout << optimizer_name << " step " << step << " loss " << value << "\n";
  }
  io::export_parameters(model.parameters(), dir + "/ddp_" + optimizer_name + ".bin");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ddp_pytorch_crosscheck DIR\n";
    return 2;
  }
  try {
    kernels::set_compute_threads(1);
    const std::string dir = argv[1];
    const Config config = read_config(dir + "/config.txt");
    train(config, dir, "sgd");
    train(config, dir, "adamw");
  } catch (const Error& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
