// A check for tests of error messages: the call throws ddp::Error and its message says each of
// the given things (what was wrong, the shapes involved, what to do).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ddp/core/error.hpp"

namespace ddp::testing {

// call() throws an Error whose message holds every one of parts.
template <typename Call>
void expect_error_with(Call call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    }
  }
}

}  // namespace ddp::testing
