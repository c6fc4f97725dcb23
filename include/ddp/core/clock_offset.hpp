// Clock offset: how far another process's clock is from a reference clock, from ping-pong rounds
// (NTP's estimate). In a round this process stamps sent, the reference stamps its clock when the
// ping arrives and answers, and this process stamps received. Assuming the two legs take equal
// time, the reference read its clock at (sent + received) / 2 of ours, so
//   offset = reference - (sent + received) / 2,   off by at most (received - sent) / 2.
// The round with the smallest round trip bounds the error best and is the one taken.
#pragma once

#include <cstdint>
#include <vector>

namespace ddp {

struct ClockRound {
  std::int64_t sent_ns = 0;       // this process's clock, ping sent
  std::int64_t reference_ns = 0;  // the reference's clock, ping received
  std::int64_t received_ns = 0;   // this process's clock, answer received
};

struct ClockOffset {
  std::int64_t offset_ns = 0;      // add to this process's clock to get the reference's
  std::int64_t round_trip_ns = 0;  // of the round taken: the error is at most half of it
};

// From the round with the smallest round trip (the first of equals); needs at least one round.
ClockOffset estimate_clock_offset(const std::vector<ClockRound>& rounds);

}  // namespace ddp
