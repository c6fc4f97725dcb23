// ddp-generate: text from a language model that ddp-train trained (--checkpoint DIR) or whose
// weights a file holds (--init-params FILE --model gpt:...); `ddp-generate --help` lists the
// options. Bytes are tokens: the prompt's bytes go in and the sampled bytes come out as text. Under
// mpirun every rank computes the same text and rank 0 prints it.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli_options.hpp"
#include "ddp/comm/runtime.hpp"
#include "ddp/io/checkpoint.hpp"
#include "ddp/io/params.hpp"
#include "ddp/kernels/threads.hpp"
#include "ddp/models/registry.hpp"
#include "generate/sampling.hpp"

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace ddp;

struct GenerateOptions {
  std::string checkpoint;   // a --checkpoint-dir of ddp-train (its newest checkpoint) or one file
  std::string init_params;  // weights as ddp-train's --init-params reads them
  std::string model;        // the spec; a checkpoint's own by default
  std::string prompt = "\n";
  std::int64_t tokens = 200;
  double temperature = 1.0;
  std::int64_t top_k = 0;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: cores / ranks on this host
};

// The checkpoint --checkpoint names: a file, or the newest of a folder that reads back whole.
io::Checkpoint read_checkpoint(const std::string& path) {
  DDP_CHECK_ARG(fs::exists(path), "--checkpoint " << path
                                                  << " does not exist; give the --checkpoint-dir "
                                                     "of a ddp-train run or a .ddpckpt file");
  if (!fs::is_directory(path)) return io::read_checkpoint_file(path);
  std::optional<io::LoadedCheckpoint> loaded = io::CheckpointDirectory(path, 1).load_newest();
  DDP_CHECK_ARG(loaded.has_value(), "--checkpoint " << path
                                                    << " holds no checkpoint; train with "
                                                       "ddp-train --checkpoint-dir there first");
  return std::move(loaded->checkpoint);
}

int run(Runtime& runtime, int argc, char** argv) {
  GenerateOptions o;
  po::options_description description(
      "ddp-generate: text from a language model (bytes as tokens)\n"
      "  ddp-generate --checkpoint DIR [options]\n"
      "  ddp-generate --init-params FILE --model gpt:... [options]");
  description.add_options()("help,h", "show this help")(
      "checkpoint", po::value(&o.checkpoint),
      "a ddp-train --checkpoint-dir (its newest checkpoint) or a .ddpckpt file")(
      "init-params", po::value(&o.init_params),
      "weights: FILE.safetensors (a state_dict) or raw float32, as ddp-train reads them")(
      "model", po::value(&o.model),
      "the model spec, e.g. gpt:layers=4,heads=4,dim=128,context=64 (with --checkpoint: the "
      "checkpoint's own by default)")(
      "prompt", po::value(&o.prompt)->default_value(o.prompt, "a newline"), "the text to continue")(
      "tokens", cli::value_with_default(&o.tokens), "how many bytes to generate")(
      "temperature", cli::value_with_default(&o.temperature),
      "logits divided by this before sampling (> 0; lower is more conservative)")(
      "top-k", cli::value_with_default(&o.top_k),
      "sample among the K likeliest bytes only (1: always the likeliest); 0: among all")(
      "seed", cli::value_with_default(&o.seed), "the sampling seed: the same seed, the same text")(
      "threads", cli::value_with_default(&o.threads), "compute threads; 0: cores / ranks");
  if (!cli::parse_options(argc, argv, description, runtime.world().get())) return 0;
  DDP_CHECK_ARG(o.checkpoint.empty() != o.init_params.empty(),
                "give one of --checkpoint DIR and --init-params FILE (with --model), not "
                    << (o.checkpoint.empty() ? "neither" : "both"));
  DDP_CHECK_ARG(o.init_params.empty() || !o.model.empty(),
                "--init-params needs --model, the spec the weights were trained as (e.g. "
                "gpt:layers=4,heads=4,dim=128,context=64)");
  DDP_CHECK_ARG(!o.prompt.empty(), "--prompt is empty; give at least one character to continue");
  DDP_CHECK_ARG(o.tokens >= 0, "--tokens must be at least 0, got " << o.tokens);
  DDP_CHECK_ARG(o.temperature > 0 && std::isfinite(o.temperature),
                "--temperature must be a positive number, got " << o.temperature);
  DDP_CHECK_ARG(o.top_k >= 0, "--top-k must be at least 0 (0: every byte), got " << o.top_k);
  DDP_CHECK_ARG(o.threads >= 0, "--threads must be at least 0, got " << o.threads);
  kernels::set_compute_threads(
      o.threads > 0 ? o.threads : kernels::default_compute_threads(runtime.local_size()));

  std::optional<io::Checkpoint> checkpoint;
  if (!o.checkpoint.empty()) {
    checkpoint = read_checkpoint(o.checkpoint);
    auto saved = checkpoint->metadata.find("model");
    if (o.model.empty()) {
      DDP_CHECK_ARG(saved != checkpoint->metadata.end(),
                    "--checkpoint " << o.checkpoint << " does not say its model; give --model");
      o.model = saved->second;
    }
  }
  models::Model model =
      cli::for_flags({{"model", "--model"}}, [&] { return models::build_model(o.model); });
  const models::ModelSignature& signature = model.signature;
  DDP_CHECK_ARG(signature.sequence > 0, "--model '" << o.model
                                                    << "' is not a language model; ddp-generate "
                                                       "needs one such as gpt:layers=4,heads=4,"
                                                       "dim=128,context=64");
  DDP_CHECK_ARG(signature.classes <= 256, "--model '" << o.model << "' has " << signature.classes
                                                      << " tokens; ddp-generate prints bytes, "
                                                         "so it takes vocab 256 at most");
  if (checkpoint) {
    io::load_model_state(checkpoint->model, *model.module, o.checkpoint);
  } else {
    io::import_model(*model.module, o.init_params);
  }

  std::vector<std::int64_t> prompt;
  for (unsigned char byte : o.prompt) {
    DDP_CHECK_ARG(byte < signature.classes, "--prompt has the byte "
                                                << int{byte} << ", beyond the model's "
                                                << signature.classes << " tokens; use bytes below "
                                                << signature.classes);
    prompt.push_back(byte);
  }
  Generator generator(o.seed);
  const std::vector<std::int64_t> text =
      generate::generate_tokens(*model.module, signature.sequence, std::move(prompt), o.tokens,
                                {.temperature = o.temperature, .top_k = o.top_k}, generator);
  if (runtime.rank() != 0) return 0;
  std::string bytes;
  for (std::int64_t token : text) bytes.push_back(static_cast<char>(token));
  std::cout << bytes << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [&](Runtime& runtime) { return run(runtime, argc, argv); });
}
