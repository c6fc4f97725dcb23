// Rank-aware logging: "[rank 2/4 host] message" on stderr, rank 0 only unless asked for all ranks.
#pragma once

#include <sstream>
#include <string>

namespace ddp::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

// Set once by the Runtime; before that the process logs as rank 0 of 1.
void set_identity(int rank, int world_size, const std::string& host);

// DDP_LOG_LEVEL=debug|info|warning|error (default info); DDP_LOG_ALL_RANKS=1 lets every rank print.
// Warnings and errors are printed by whichever rank has them.
bool enabled(Level level);
void write(Level level, const std::string& message);

// The prefix this process writes: "[rank 2/4 host]".
std::string prefix();

}  // namespace ddp::log

#define DDP_LOG(level, message_stream)                 \
  do {                                                 \
    if (::ddp::log::enabled(level)) {                  \
      std::ostringstream ddp_log_stream_;              \
      ddp_log_stream_ << message_stream;               \
      ::ddp::log::write(level, ddp_log_stream_.str()); \
    }                                                  \
  } while (false)

#define DDP_DEBUG_LOG(message_stream) DDP_LOG(::ddp::log::Level::debug, message_stream)
#define DDP_INFO(message_stream) DDP_LOG(::ddp::log::Level::info, message_stream)
#define DDP_WARN(message_stream) DDP_LOG(::ddp::log::Level::warning, message_stream)
#define DDP_ERROR(message_stream) DDP_LOG(::ddp::log::Level::error, message_stream)
