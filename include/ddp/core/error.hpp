// ddp::Error and the check macros: every failure says what went wrong, where, and what to do.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ddp {

// The one exception type of the library; `what()` is the one-line message a user reads,
// `where()` the source location for bug reports.
class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string where = {});
  const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

// Bad input from the user (a flag, a config value, an environment variable): programs exit with 2.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A bad value of a library option (a field of an options struct, a model spec): what() reads
// "OPTION 'VALUE': REASON". Programs show it under the flag that set the option (cli::for_flags),
// since the library knows its own names only.
class InvalidOption : public InvalidArgument {
 public:
  InvalidOption(std::string option, std::string value, std::string reason, std::string where = {});
  const std::string& option() const noexcept { return option_; }
  const std::string& value() const noexcept { return value_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string option_;
  std::string value_;
  std::string reason_;
};

// A collective failed or timed out, or the ranks disagreed about one: the job cannot go on.
class CommError : public Error {
 public:
  using Error::Error;
};

namespace detail {
std::string source_location(const char* file, int line);
}  // namespace detail

}  // namespace ddp

// DDP_THROW(Type, "text " << value): builds the message with a stream and throws Type.
#define DDP_THROW(Type, message_stream)                                                 \
  do {                                                                                  \
    std::ostringstream ddp_message_;                                                    \
    ddp_message_ << message_stream;                                                     \
    throw Type(ddp_message_.str(), ::ddp::detail::source_location(__FILE__, __LINE__)); \
  } while (false)

// DDP_CHECK(cond, "what was wrong; what to do"): throws ddp::Error when cond is false.
#define DDP_CHECK(condition, message_stream)                   \
  do {                                                         \
    if (!(condition)) DDP_THROW(::ddp::Error, message_stream); \
  } while (false)

// DDP_CHECK_OPTION(cond, "backend", value, "reason; what to do"): throws ddp::InvalidOption.
#define DDP_CHECK_OPTION(condition, option, value, reason_stream)                     \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::ostringstream ddp_reason_;                                                 \
      ddp_reason_ << reason_stream;                                                   \
      throw ::ddp::InvalidOption(option, value, ddp_reason_.str(),                    \
                                 ::ddp::detail::source_location(__FILE__, __LINE__)); \
    }                                                                                 \
  } while (false)

// DDP_CHECK_ARG: the same for bad user input (ddp::InvalidArgument, exit code 2).
#define DDP_CHECK_ARG(condition, message_stream)                         \
  do {                                                                   \
    if (!(condition)) DDP_THROW(::ddp::InvalidArgument, message_stream); \
  } while (false)
