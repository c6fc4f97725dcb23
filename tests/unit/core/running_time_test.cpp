#include "ddp/core/running_time.hpp"

#include <gtest/gtest.h>

namespace ddp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RunningTime, CountsLooksThatComeInTimeInFull) {
  const RunningTime::Clock::time_point start{};
  RunningTime running(seconds(2), start);
  EXPECT_EQ(running.look(start + milliseconds(500)), milliseconds(500));
  EXPECT_EQ(running.look(start + milliseconds(2400)), milliseconds(2400));
  EXPECT_EQ(running.look(start + milliseconds(2400)), milliseconds(2400));
}

TEST(RunningTime, CountsAGapLongerThanTheLimitAsTheLimit) {
  const RunningTime::Clock::time_point start{};
  RunningTime running(seconds(2), start);
  EXPECT_EQ(running.look(start + seconds(1)), seconds(1));
  // Stopped for ten minutes between two looks: two seconds of it count.
  EXPECT_EQ(running.look(start + seconds(601)), seconds(3));
  EXPECT_EQ(running.look(start + seconds(602)), seconds(4));
}

TEST(RunningTime, StartsFromNowByDefault) {
  RunningTime running(seconds(2));
  EXPECT_LT(running.look(), seconds(1));
}

}  // namespace
}  // namespace ddp
