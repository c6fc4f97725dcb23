#include "cli_options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iostream>
#include <vector>

#include "ddp/core/error.hpp"
#include "same_options.hpp"

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

// An option's value as text, for comparing across ranks: the types the programs bind.
std::string value_text(const boost::any& value) {
  if (const auto* text = boost::any_cast<std::string>(&value)) return *text;
  if (const auto* number = boost::any_cast<double>(&value)) {
    // The shortest text that reads back as the same double: "0.1", and exact for comparing.
    char text[32];
    return std::string(text, std::to_chars(text, text + sizeof(text), *number).ptr);
  }
  if (const auto* number = boost::any_cast<std::int64_t>(&value)) return std::to_string(*number);
  if (const auto* number = boost::any_cast<std::uint64_t>(&value)) return std::to_string(*number);
  if (const auto* number = boost::any_cast<int>(&value)) return std::to_string(*number);
  if (const auto* flag = boost::any_cast<bool>(&value)) return *flag ? "true" : "false";
  DDP_THROW(Error, "an option of type " << value.type().name() << " cannot be compared across "
                                        << "ranks; add the type to value_text");
}

std::vector<Setting> settings_of(const po::options_description& description,
                                 const po::variables_map& values) {
  std::vector<Setting> settings;
  for (const auto& option : description.options()) {
    const std::string& name = option->long_name();
    if (name == "config" || name == "help") continue;
    auto found = values.find(name);
    settings.emplace_back(name, found == values.end() ? "" : value_text(found->second.value()));
  }
  return settings;
}

}  // namespace

bool parse_options(int argc, char** argv, const po::options_description& description,
                   ProcessGroup* ranks, const OptionSources& sources) {
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
  if (ranks != nullptr) check_same_on_every_rank(*ranks, settings_of(description, values));
  return true;
}

}  // namespace ddp::cli
