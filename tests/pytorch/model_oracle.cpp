// The ddp half of the whole-model checks against PyTorch (tests/pytorch/gpt_test.py drives it):
// builds a registered model family from its spec, loads weights PyTorch wrote, and runs cases
// through forward and backward.
//   usage: ddp_model_oracle SPEC WEIGHTS.safetensors IN.safetensors OUT.safetensors [IN OUT ...]
// IN holds the input "x" and the upstream gradient "dy"; OUT gets "y" and "grad.NAME" for each
// parameter in parameters() order (a tied parameter once, under its first name).
#include <iostream>
#include <string>
#include <vector>

#include "ddp/core/error.hpp"
#include "ddp/io/params.hpp"
#include "ddp/io/safetensors.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/models/registry.hpp"

namespace {

using namespace ddp;

const Tensor& find(const std::vector<NamedTensor>& tensors, const std::string& name,
                   const std::string& file) {
  for (const NamedTensor& named : tensors) {
    if (named.name == name) return named.tensor;
  }
  DDP_THROW(Error, file << " has no tensor '" << name << "'");
}

void run_case(nn::Module& model, const std::string& in, const std::string& out) {
  const io::SafetensorsContents contents = io::read_safetensors(in);
  model.zero_grad();
  std::vector<NamedTensor> outputs{{"y", model.forward(find(contents.tensors, "x", in)).clone()}};
  const Tensor dx = model.backward(find(contents.tensors, "dy", in));
  DDP_CHECK(!dx.defined(), "a model of tokens returned an input gradient");
  for (nn::Parameter* param : model.parameters()) {
    DDP_CHECK(param->has_grad, "backward left no gradient in " << param->name);
    outputs.push_back({"grad." + param->name, param->grad.clone()});
  }
  io::write_safetensors(out, outputs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc % 2 != 1) {
    std::cerr << "usage: ddp_model_oracle SPEC WEIGHTS.safetensors IN OUT [IN OUT ...]\n";
    return 2;
  }
  kernels::set_compute_threads(1);
  try {
    models::Model model = models::build_model(argv[1]);
    io::import_model(*model.module, argv[2]);
    for (int i = 3; i + 1 < argc; i += 2) run_case(*model.module, argv[i], argv[i + 1]);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
