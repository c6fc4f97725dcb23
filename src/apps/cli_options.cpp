#include "cli_options.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>

#include "ddp/core/error.hpp"

namespace ddp::cli {
namespace {

namespace po = boost::program_options;

// DDP_BATCH_SIZE -> "batch-size" when description has that option, else "" (ignored).
std::string option_for_variable(const std::string& variable, const std::string& prefix,
                                const po::options_description& description) {
  if (variable.rfind(prefix, 0) != 0) return "";
  std::string name = variable.substr(prefix.size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return c == '_' ? '-' : static_cast<char>(std::tolower(c));
  });
  return description.find_nothrow(name, false) != nullptr ? name : "";
}

// Boost builds an error's message by replacing %placeholders% until none is left, so a value that
// itself reads "%value%" would make what() loop forever (found by fuzzing the config reader). A
// zero-width space after every '%' of the substituted texts breaks such runs and prints the same.
class DefusedError : public po::error_with_option_name {
 public:
  static void defuse(po::error_with_option_name& error) {
    auto substitutions = &DefusedError::m_substitutions;
    for (auto& entry : error.*substitutions) {
      std::string& text = entry.second;
      for (std::size_t at = text.find('%'); at != std::string::npos; at = text.find('%', at + 4)) {
        text.insert(at + 1, "\u200b");
      }
    }
  }
};

}  // namespace

bool parse_options(int argc, char** argv, const po::options_description& description,
                   const OptionSources& sources) {
  po::variables_map values;
  try {
    // The first value stored for an option wins: command line, then environment, then file.
    po::store(po::parse_command_line(argc, argv, description), values);
    if (!sources.env_prefix.empty()) {
      po::store(po::parse_environment(description,
                                      [&](const std::string& variable) {
                                        return option_for_variable(variable, sources.env_prefix,
                                                                   description);
                                      }),
                values);
    }
    if (sources.config_file && values.count("config") != 0) {
      std::string path = values["config"].as<std::string>();
      std::ifstream file(path);
      DDP_CHECK_ARG(file, "--config " << path << ": cannot open the file");
      po::store(po::parse_config_file(file, description), values);
    }
    if (values.count("help") != 0) {
      std::cout << description;
      return false;
    }
    po::notify(values);
  } catch (po::error_with_option_name& error) {
    DefusedError::defuse(error);
    DDP_THROW(InvalidArgument, error.what() << "; run with --help for the options");
  } catch (const po::error& error) {
    DDP_THROW(InvalidArgument, error.what() << "; run with --help for the options");
  }
  return true;
}

}  // namespace ddp::cli
