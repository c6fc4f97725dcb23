#include "cli_options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
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

// Stores one source's options, refusing a negative number for an unsigned option first: Boost
// reads "-1" as 2^64 - 1.
void store_checked(const po::parsed_options& parsed, const po::options_description& description,
                   po::variables_map& values) {
  for (const po::option& option : parsed.options) {
    const po::option_description* known = description.find_nothrow(option.string_key, false);
    if (known == nullptr ||
        dynamic_cast<const po::typed_value<std::uint64_t>*>(known->semantic().get()) == nullptr) {
      continue;
    }
    for (const std::string& value : option.value) {
      DDP_CHECK_ARG(value.find('-') == std::string::npos,
                    "--" << option.string_key << " '" << value << "' must not be negative");
    }
  }
  po::store(parsed, values);
}

// Runs body; Boost's error for a bad option or value there becomes an InvalidArgument that names
// the source: `source` is "" (the command line), the environment's prefix (the variable is named)
// or a prefix such as "--config FILE: ".
template <typename Body>
void naming_the_source(const std::string& source, Body body) {
  const bool environment = !source.empty() && source.back() == '_';
  try {
    body();
  } catch (po::error_with_option_name& error) {
    DefusedError::defuse(error);
    std::string where = source;
    if (environment) {
      // --batch-size -> DDP_BATCH_SIZE=...: the variable the user set.
      std::string name = error.get_option_name();
      name.erase(0, name.find_first_not_of('-'));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return c == '-' ? '_' : static_cast<char>(std::toupper(c));
      });
      where = "environment variable " + source + name + ": ";
    }
    DDP_THROW(InvalidArgument, where << error.what() << "; run with --help for the options");
  } catch (const po::error& error) {
    DDP_THROW(InvalidArgument, (environment ? "the environment: " : source)
                                   << error.what() << "; run with --help for the options");
  }
}

}  // namespace

bool parse_options(int argc, char** argv, const po::options_description& description,
                   ProcessGroup* ranks, const OptionSources& sources) {
  po::variables_map values;
  // The first value stored for an option wins: command line, then environment, then file.
  naming_the_source("", [&] {
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(description).run();
    for (const po::option& option : parsed.options) {
      // A word that is no option nor an option's value (Boost would drop it without a word).
      DDP_CHECK_ARG(!option.string_key.empty(),
                    "unexpected '" << option.original_tokens.front()
                                   << "' on the command line: options are --name VALUE, and "
                                   << "switches take no value; run with --help for the options");
    }
    store_checked(parsed, description, values);
  });
  if (!sources.env_prefix.empty()) {
    naming_the_source(sources.env_prefix, [&] {
      store_checked(po::parse_environment(description,
                                          [&](const std::string& variable) {
                                            return option_for_variable(variable, sources.env_prefix,
                                                                       description);
                                          }),
                    description, values);
    });
  }
  if (sources.config_file && values.count("config") != 0) {
    const std::string path = values["config"].as<std::string>();
    std::ifstream file(path);
    DDP_CHECK_ARG(
        file && !std::filesystem::is_directory(path),
        "--config " << path << ": cannot open the file" << (file ? " (it is a folder)" : ""));
    naming_the_source("--config " + path + ": ", [&] {
      store_checked(po::parse_config_file(file, description), description, values);
    });
  }
  if (values.count("help") != 0) {
    if (ranks == nullptr || ranks->rank() == 0) std::cout << description;
    return false;
  }
  naming_the_source("", [&] { po::notify(values); });
  if (ranks != nullptr) check_same_on_every_rank(*ranks, settings_of(description, values));
  return true;
}

}  // namespace ddp::cli
