// Command-line parsing shared by the programs and ddp-bench (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>

#include <string>

namespace ddp::cli {

// Where option values may come from besides the command line, which always wins.
struct OptionSources {
  // --config FILE names an INI file of `option-name = value` lines; description must define
  // "config". It ranks below the environment.
  bool config_file = false;
  // With "DDP_", DDP_BATCH_SIZE sets --batch-size (environment variables that name no option are
  // left alone); empty reads no environment.
  std::string env_prefix;
};

// Parses the sources into the variables bound in description. Prints the help and returns false
// for --help; an unknown option or a bad value is an InvalidArgument naming it.
bool parse_options(int argc, char** argv,
                   const boost::program_options::options_description& description,
                   const OptionSources& sources = {});

}  // namespace ddp::cli
