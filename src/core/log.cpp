#include "ddp/core/log.hpp"

#include <cstdio>
#include <mutex>

#include "ddp/core/env.hpp"
#include "ddp/core/error.hpp"

namespace ddp::log {
namespace {

struct Identity {
  int rank = 0;
  int world_size = 1;
  std::string host = "localhost";
};

Identity& identity() {
  static Identity id;
  return id;
}

Level parse_level() {
  std::string name = env::get_string("DDP_LOG_LEVEL", "info");
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warning") return Level::warning;
  if (name == "error") return Level::error;
  DDP_THROW(InvalidArgument,
            "DDP_LOG_LEVEL='" << name << "' is not a level; use debug, info, warning or error");
}

struct Settings {
  Level level = parse_level();
  bool all_ranks = env::get_bool("DDP_LOG_ALL_RANKS", false);
};

const Settings& settings() {
  static const Settings s;
  return s;
}

const char* level_tag(Level level) {
  switch (level) {
    case Level::debug:
      return "debug: ";
    case Level::info:
      return "";
    case Level::warning:
      return "warning: ";
    case Level::error:
      return "error: ";
  }
  return "";
}

}  // namespace

void set_identity(int rank, int world_size, const std::string& host) {
  identity() = Identity{rank, world_size, host};
}

bool enabled(Level level) {
  const Settings& s = settings();
  if (level < s.level) return false;
  return level >= Level::warning || s.all_ranks || identity().rank == 0;
}

std::string prefix() {
  const Identity& id = identity();
  return "[rank " + std::to_string(id.rank) + "/" + std::to_string(id.world_size) + " " + id.host +
         "]";
}

void write(Level level, const std::string& message) {
  static std::mutex mutex;
  std::string line = prefix() + " " + level_tag(level) + message + "\n";
  std::lock_guard lock(mutex);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace ddp::log
