// The model families programs build from a spec: "mlp:784,128,10" is the family "mlp" with the
// arguments "784,128,10". Each family lives in a file of its own and registers itself there, so
// that ddp-train and ddp-bench build any of them through build_model and know none by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddp/core/tensor.hpp"
#include "ddp/kernels/activation.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::models {

// What a program's options say about any model; a family uses what applies to it.
struct BuildOptions {
  // Initial weights: every rank builds the same replica from it.
  std::uint64_t seed = 0;
  // Dropout masks: give each rank its own (derive_seed(seed, rank)), or the replicas drop the
  // same elements of different data.
  std::uint64_t dropout_seed = 0;
  kernels::Activation activation = kernels::Activation::relu;
  // Dropout probability where the family has dropout layers; 0 adds none.
  float dropout = 0.0f;
  // What the data offers, for a family whose spec leaves the input open (cnn:, resnet:): one
  // sample's shape ({channels, height, width} for images) and the number of classes. The defaults
  // are Fashion-MNIST's, for programs without data (ddp-bench).
  Shape sample_shape = {1, 28, 28};
  std::int64_t classes = 10;
};

// What a model takes and predicts, so that a program can check its data against it.
struct ModelSignature {
  Shape sample_shape;        // one sample's input: {784} for mlp:784,...
  std::int64_t classes = 0;  // logits per sample
  // A language model's context: > 0 when the model takes int64 token ids [n, sequence] (then
  // sample_shape is {sequence}) and predicts `classes` logits at every position ([n, sequence,
  // classes]) against int64 targets [n, sequence]. 0 for one row of logits per sample.
  std::int64_t sequence = 0;
};

struct Model {
  std::unique_ptr<nn::Module> module;
  ModelSignature signature;
};

class ModelFamily {
 public:
  virtual ~ModelFamily() = default;
  // The spec's prefix: "mlp".
  virtual std::string name() const = 0;
  // "mlp:IN,H1,...,OUT (e.g. mlp:784,128,10)": what an error about an unknown spec lists.
  virtual std::string usage() const = 0;
  // arguments: what follows "name:" in spec. A malformed one is an InvalidOption ("model",
  // spec) that says what the family expects.
  virtual Model build(const std::string& spec, const std::string& arguments,
                      const BuildOptions& options) const = 0;
};

// Adds family to the registry, from a static initializer in the family's own file; a name taken
// twice is an Error. Returns true, for that initializer to keep.
bool register_family(std::unique_ptr<ModelFamily> family);
// The model spec names, built; an InvalidOption ("model", spec) listing every family's usage
// when no family has its prefix.
Model build_model(const std::string& spec, const BuildOptions& options = {});
// Every family's usage, in name order.
std::vector<std::string> family_usages();

}  // namespace ddp::models
