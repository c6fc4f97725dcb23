#include "ddp/core/clock_offset.hpp"

#include <gtest/gtest.h>

#include "ddp/core/error.hpp"

namespace ddp {
namespace {

TEST(ClockOffset, ComesFromTheRoundWithTheShortestRoundTrip) {
  // Round trips 400, 100 and 900 ns. The second: the reference read 6470 when this clock read
  // (2000 + 2100) / 2 = 2050, so the offset is 6470 - 2050 = 4420, within 100 / 2.
  const ClockOffset offset =
      estimate_clock_offset({{1000, 5600, 1400}, {2000, 6470, 2100}, {3000, 8000, 3900}});
  EXPECT_EQ(offset.offset_ns, 4420);
  EXPECT_EQ(offset.round_trip_ns, 100);
  // A reference behind this clock, two rounds of 200 ns: the first counts, 2500 - 10100 = -7600.
  const ClockOffset behind = estimate_clock_offset({{10000, 2500, 10200}, {20000, 12600, 20200}});
  EXPECT_EQ(behind.offset_ns, -7600);
  EXPECT_EQ(behind.round_trip_ns, 200);
  EXPECT_THROW(estimate_clock_offset({}), Error);
}

}  // namespace
}  // namespace ddp
