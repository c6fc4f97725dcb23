// Command-line parsing shared by the programs and ddp-bench (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>

namespace ddp::cli {

// Parses argv into the variables bound in description. Prints the help and returns false for
// --help; an unknown option or a bad value is an InvalidArgument naming it.
bool parse_options(int argc, char** argv,
                   const boost::program_options::options_description& description);

}  // namespace ddp::cli
