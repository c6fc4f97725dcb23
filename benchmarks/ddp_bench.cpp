// ddp-bench: the benchmarks users run under mpirun; `ddp-bench SUBCOMMAND --help` for each one.
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "cli_options.hpp"
#include "ddp/core/error.hpp"
#include "subcommands.hpp"

namespace {

using Subcommand = int (*)(ddp::Runtime&, int, char**);

const std::map<std::string, std::pair<Subcommand, const char*>>& subcommands() {
  static const std::map<std::string, std::pair<Subcommand, const char*>> table{
      {"allreduce", {ddp::bench::allreduce, "process-group all-reduce vs raw MPI_Allreduce"}},
      {"overlap", {ddp::bench::overlap, "DDP step with and without all-reduce, and it alone"}},
      {"project", {ddp::bench::project, "step time and efficiency at 8 to 4,096 ranks, modelled"}},
      {"step", {ddp::bench::step, "one process's MLP training step vs its GEMMs alone"}},
  };
  return table;
}

std::string usage() {
  std::string text =
      "usage: ddp-bench SUBCOMMAND [options]   (SUBCOMMAND --help for its options)\n";
  for (const auto& [name, entry] : subcommands()) text += "  " + name + "  " + entry.second + "\n";
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << usage();
    return argc < 2 ? 2 : 0;
  }
  return ddp::run_program(argc, argv, [&](ddp::Runtime& runtime) {
    auto found = subcommands().find(argv[1]);
    DDP_CHECK_ARG(found != subcommands().end(),
                  "unknown subcommand '" << argv[1] << "'; run ddp-bench --help for the list");
    // The library's names of what the subcommands' flags set.
    const ddp::cli::FlagNames flags{{"model", "--model"}, {"compute threads", "--threads"}};
    return ddp::cli::for_flags(flags,
                               [&] { return found->second.first(runtime, argc - 1, argv + 1); });
  });
}
