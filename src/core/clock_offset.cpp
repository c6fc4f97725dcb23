#include "ddp/core/clock_offset.hpp"

#include "ddp/core/error.hpp"

namespace ddp {

ClockOffset estimate_clock_offset(const std::vector<ClockRound>& rounds) {
  DDP_CHECK(!rounds.empty(), "estimate_clock_offset needs at least one ping-pong round");
  const ClockRound* best = &rounds.front();
  for (const ClockRound& round : rounds) {
    if (round.received_ns - round.sent_ns < best->received_ns - best->sent_ns) best = &round;
  }
  const std::int64_t round_trip = best->received_ns - best->sent_ns;
  // sent + round_trip / 2 rather than (sent + received) / 2, whose sum could overflow.
  return {best->reference_ns - (best->sent_ns + round_trip / 2), round_trip};
}

}  // namespace ddp
