// Reading the DDP_* environment variables: a malformed value is an InvalidArgument naming it.
#pragma once

#include <optional>
#include <string>

namespace ddp::env {

// The raw value, or nothing when the variable is unset or empty.
std::optional<std::string> get(const char* name);

std::string get_string(const char* name, const std::string& fallback);
long long get_int(const char* name, long long fallback);
double get_double(const char* name, double fallback);
// Accepts 1/0, true/false, yes/no, on/off (any case).
bool get_bool(const char* name, bool fallback);

}  // namespace ddp::env
