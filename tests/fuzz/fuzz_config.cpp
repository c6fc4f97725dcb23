// libFuzzer harness for the config-file reader: the input is an INI file given to
// cli::parse_options as --config, the path ddp-train's options take, with one option of each kind
// the programs declare (int64, int, double, string, bool switch, a multi-value list).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "memory_file.hpp"

namespace po = boost::program_options;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ddp::fuzz::MemoryFile file;
  file.assign(std::span<const std::uint8_t>(data, size));

  std::string config, model = "mlp:784,128,10";
  std::int64_t batch_size = 64, epochs = 1;
  int keep = 3;
  double lr = 0.1;
  bool resume = false;
  std::vector<std::string> tags;
  po::options_description description("fuzz");
  auto add = description.add_options();
  add("config", po::value(&config), "INI file");
  add("batch-size", po::value(&batch_size), "int64");
  add("epochs", po::value(&epochs), "int64");
  add("keep", po::value(&keep), "int");
  add("lr", po::value(&lr), "double");
  add("model", po::value(&model), "string");
  add("resume", po::bool_switch(&resume), "switch");
  add("tag", po::value(&tags)->composing(), "list");

  std::string program = "ddp-fuzz", flag = "--config", path = file.path();
  std::vector<char*> argv = {program.data(), flag.data(), path.data(), nullptr};
  ddp::cli::OptionSources sources;
  sources.config_file = true;
  try {
    ddp::cli::parse_options(3, argv.data(), description, nullptr, sources);
  } catch (const ddp::InvalidArgument&) {
    // Refusing an unknown option, a bad value or a malformed line is the reader's job.
  }
  return 0;
}
