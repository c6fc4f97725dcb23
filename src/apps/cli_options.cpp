#include "cli_options.hpp"

#include <iostream>

#include "ddp/core/error.hpp"

namespace ddp::cli {

bool parse_options(int argc, char** argv,
                   const boost::program_options::options_description& description) {
  namespace po = boost::program_options;
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, description), values);
  } catch (const po::error& error) {
    DDP_THROW(InvalidArgument, error.what() << "; run with --help for the options");
  }
  if (values.count("help") != 0) {
    std::cout << description;
    return false;
  }
  po::notify(values);
  return true;
}

}  // namespace ddp::cli
