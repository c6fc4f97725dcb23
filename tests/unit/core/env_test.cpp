#include "ddp/core/env.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "ddp/core/error.hpp"

namespace ddp {
namespace {

TEST(Env, ReadsTypedValuesAndFallsBack) {
  ::setenv("DDP_TEST_INT", "42", 1);
  ::setenv("DDP_TEST_BOOL", "Yes", 1);
  ::setenv("DDP_TEST_DOUBLE", "0.25", 1);
  ::unsetenv("DDP_TEST_UNSET");
  EXPECT_EQ(env::get_int("DDP_TEST_INT", 0), 42);
  EXPECT_TRUE(env::get_bool("DDP_TEST_BOOL", false));
  EXPECT_DOUBLE_EQ(env::get_double("DDP_TEST_DOUBLE", 0), 0.25);
  EXPECT_EQ(env::get_int("DDP_TEST_UNSET", 7), 7);
  EXPECT_EQ(env::get_string("DDP_TEST_UNSET", "x"), "x");
}

TEST(Env, MalformedValueNamesTheVariable) {
  ::setenv("DDP_TEST_INT", "12abc", 1);
  try {
    env::get_int("DDP_TEST_INT", 0);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("DDP_TEST_INT='12abc'"), std::string::npos);
  }
  ::setenv("DDP_TEST_BOOL", "maybe", 1);
  EXPECT_THROW(env::get_bool("DDP_TEST_BOOL", false), InvalidArgument);
}

}  // namespace
}  // namespace ddp
