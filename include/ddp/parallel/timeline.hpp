// Timeline: every rank's trace (core/trace.hpp) in one Chrome trace JSON file that Perfetto and
// chrome://tracing open: a process per rank ("rank 1 (host)"), a thread per lane (the main thread,
// each communication thread), complete ("X") events on rank 0's clock, in microseconds from the
// moment the timeline started. Each rank's clock is aligned to rank 0's by ping-pong rounds over
// the group when it starts (core/clock_offset.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/core/clock_offset.hpp"
#include "ddp/core/trace.hpp"

namespace ddp::parallel {

// Ping-pong rounds per rank for the clock offset: the fastest round counts.
constexpr int kClockRounds = 8;

// The offset of this rank's steady clock to rank 0's, from kClockRounds rounds of broadcasts
// between rank 0 and each other rank in turn (0 on rank 0). Collective over group.
ClockOffset measure_clock_offset(ProcessGroup& group);

// This rank's lanes as "traceEvents" of a Chrome trace; rank is the pid, the lane the tid, and
// the process's label says the clock offset. origin_ns: rank 0's clock at time 0; offset: this
// rank's clock to rank 0's.
std::string trace_events_json(const std::vector<trace::Lane>& lanes, int rank,
                              const std::string& host, const ClockOffset& offset,
                              std::int64_t origin_ns);

class Timeline {
 public:
  // Collective over group: aligns the clocks, then starts the recorder with a buffer of
  // events_per_lane spans per thread (recording itself stays off: trace::set_recording).
  Timeline(ProcessGroup& group, std::string host, std::size_t events_per_lane);

  // Collective: gathers every rank's lanes to rank 0, which writes them to path. Returns the spans
  // dropped for full buffers, over all ranks, on rank 0 (0 elsewhere).
  std::int64_t write(const std::string& path);

 private:
  ProcessGroup& group_;
  std::string host_;
  ClockOffset offset_;
  std::int64_t origin_ns_ = 0;  // rank 0's clock when the timeline started
};

}  // namespace ddp::parallel
