// Command-line parsing shared by the programs and ddp-bench (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>

#include <sstream>
#include <string>

#include "ddp/comm/process_group.hpp"

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
// for --help; an unknown option or a bad value is an InvalidArgument naming it. ranks, the ranks
// that run with these options (null: none to compare), must all end with the same values (all but
// --config's path), or each gets the same InvalidArgument naming the first that differs.
bool parse_options(int argc, char** argv,
                   const boost::program_options::options_description& description,
                   ProcessGroup* ranks, const OptionSources& sources = {});

// po::value(target) defaulting to what *target holds, shown in --help as a stream prints it
// ("0.1", where Boost would show 0.10000000000000001).
template <typename T>
boost::program_options::typed_value<T>* value_with_default(T* target) {
  std::ostringstream text;
  text << *target;
  return boost::program_options::value(target)->default_value(*target, text.str());
}

}  // namespace ddp::cli
