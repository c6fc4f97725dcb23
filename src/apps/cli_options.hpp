// Command-line parsing shared by the programs and ddp-bench (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/core/error.hpp"

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

// One name an enum option accepts, and the value it stands for.
template <typename E>
struct Choice {
  const char* name;
  E value;
};

// The name of value among choices, for --help, messages and files ("?" when it has none).
template <typename E>
std::string choice_name(E value, const std::vector<Choice<E>>& choices) {
  for (const Choice<E>& choice : choices) {
    if (choice.value == value) return choice.name;
  }
  return "?";
}

// An option whose text must be one of choices' names: stored into *target as its value when the
// options are notified, defaulting to what *target holds; any other text is an InvalidArgument
// "--option 'text' is not one of a, b, c". Parsed into the enum here, at the command line, the
// program below sees no strings.
template <typename E>
boost::program_options::typed_value<std::string>* choice(E* target, const std::string& option,
                                                         std::vector<Choice<E>> choices) {
  return boost::program_options::value<std::string>()
      ->default_value(choice_name(*target, choices))
      ->notifier([target, option, choices](const std::string& text) {
        std::string names;
        for (const Choice<E>& choice : choices) {
          if (text == choice.name) {
            *target = choice.value;
            return;
          }
          names += (names.empty() ? "" : ", ") + std::string(choice.name);
        }
        DDP_THROW(InvalidArgument, "--" << option << " '" << text << "' is not one of " << names);
      });
}

// The flag of each library option a program sets: {"backend", "--backend"}.
using FlagNames = std::map<std::string, std::string>;

// Runs body; an InvalidOption of the library comes out as an InvalidArgument under the flag that
// set the option ("--backend 'nccl': ..."), since the library knows its own names only. One whose
// option has no flag here passes unchanged.
template <typename Body>
auto for_flags(const FlagNames& flags, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const InvalidOption& error) {
    auto flag = flags.find(error.option());
    if (flag == flags.end()) throw;
    throw InvalidArgument(flag->second + " '" + error.value() + "': " + error.reason(),
                          error.where());
  }
}

}  // namespace ddp::cli
