// The ddp half of the optimizer check against PyTorch (tests/pytorch/optimizer_test.py drives
// it): trains the MLP the script describes from PyTorch's initial parameters on the same batches,
// with SGD (momentum, weight decay), with AdamW, and with AdamW in two parameter groups (weight
// decay on the matrices, none on the biases: nanoGPT's grouping), and writes the final parameters.
//   usage: ddp_optimizer_oracle DIR
// DIR holds init.safetensors (the initial state_dict) and data.safetensors (x, y, and the
// configuration in its __metadata__); the results go to DIR/ddp_sgd.safetensors,
// DIR/ddp_adamw.safetensors and DIR/ddp_adamw_groups.safetensors, state_dicts again.
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/io/params.hpp"
#include "ddp/io/safetensors.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/nn/activation.hpp"
#include "ddp/nn/linear.hpp"
#include "ddp/nn/loss.hpp"
#include "ddp/nn/sequential.hpp"
#include "ddp/optim/adamw.hpp"
#include "ddp/optim/sgd.hpp"

namespace {

using namespace ddp;

// What the script wrote into data.safetensors.
struct Config {
  std::vector<std::int64_t> widths;
  std::int64_t batch = 0;
  std::int64_t steps = 0;
  optim::SgdOptions sgd;
  optim::AdamwOptions adamw;
  Tensor x;  // [batch * steps, widths.front()] float32
  Tensor y;  // [batch * steps] int64 class indices
};

Config read_config(const std::string& path) {
  io::SafetensorsContents file = io::read_safetensors(path);
  auto number = [&](const std::string& key) {
    auto it = file.metadata.find(key);
    DDP_CHECK(it != file.metadata.end(), path << " has no '" << key << "' in its __metadata__");
    return std::stod(it->second);
  };
  Config config;
  std::stringstream widths(file.metadata["widths"]);
  for (std::string width; std::getline(widths, width, ',');) {
    config.widths.push_back(std::stoll(width));
  }
  DDP_CHECK(config.widths.size() >= 2, path << ": widths '" << file.metadata["widths"] << "'");
  config.batch = static_cast<std::int64_t>(number("batch"));
  config.steps = static_cast<std::int64_t>(number("steps"));
  config.sgd = {.lr = number("sgd_lr"),
                .momentum = number("sgd_momentum"),
                .dampening = number("sgd_dampening"),
                .weight_decay = number("sgd_weight_decay"),
                .nesterov = number("sgd_nesterov") != 0};
  config.adamw = {.lr = number("adamw_lr"),
                  .beta1 = number("adamw_beta1"),
                  .beta2 = number("adamw_beta2"),
                  .eps = number("adamw_eps"),
                  .weight_decay = number("adamw_weight_decay")};
  for (const NamedTensor& named : file.tensors) {
    if (named.name == "x") config.x = named.tensor;
    if (named.name == "y") config.y = named.tensor;
  }
  DDP_CHECK(config.x.defined() && config.y.defined(), path << " needs tensors x and y");
  return config;
}

void train(const Config& config, const std::string& dir, const std::string& optimizer_name) {
  Generator unused(0);
  nn::Sequential model;
  for (std::size_t i = 0; i + 1 < config.widths.size(); ++i) {
    model.emplace<nn::Linear>(config.widths[i], config.widths[i + 1], unused);
    if (i + 2 < config.widths.size()) model.emplace<nn::ReLU>();
  }
  model.set_input_grad_needed(false);
  io::import_model(model, dir + "/init.safetensors");
  std::unique_ptr<optim::Optimizer> optimizer;
  if (optimizer_name == "sgd") {
    optimizer = std::make_unique<optim::Sgd>(model.parameters(), config.sgd);
  } else if (optimizer_name == "adamw") {
    optimizer = std::make_unique<optim::Adamw>(model.parameters(), config.adamw);
  } else {
    optim::ParamGroup decayed{{}, std::nullopt}, not_decayed{{}, 0.0};
    for (nn::Parameter* param : model.parameters()) {
      (param->value.ndim() >= 2 ? decayed : not_decayed).params.push_back(param);
    }
    optimizer = std::make_unique<optim::Adamw>(
        std::vector<optim::ParamGroup>{std::move(decayed), std::move(not_decayed)}, config.adamw);
  }
  nn::CrossEntropyLoss loss;
  for (std::int64_t step = 0; step < config.steps; ++step) {
    const std::int64_t begin = step * config.batch;
    optimizer->zero_grad();
    const float value = loss.forward(model.forward(config.x.rows(begin, begin + config.batch)),
                                     config.y.rows(begin, begin + config.batch));
    model.backward(loss.backward());
    optimizer->step();
    std::cout << optimizer_name << " step " << step << " loss " << value << "\n";
  }
  io::export_model(model, dir + "/ddp_" + optimizer_name + ".safetensors");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ddp_optimizer_oracle DIR\n";
    return 2;
  }
  try {
    kernels::set_compute_threads(1);
    const std::string dir = argv[1];
    const Config config = read_config(dir + "/data.safetensors");
    train(config, dir, "sgd");
    train(config, dir, "adamw");
    train(config, dir, "adamw_groups");
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
