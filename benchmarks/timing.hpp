// Timing helpers shared by the benchmarks: a clock, medians, and the slowest rank's figure.
#pragma once

#include <chrono>
#include <vector>

#include "ddp/comm/process_group.hpp"

namespace ddp::bench {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start);

// The middle value (the upper one of an even count): a run a neighbour disturbed does not move it.
double median(std::vector<double> values);

// Collective: the largest value over the ranks. A data-parallel step or a collective is as slow
// as its last rank.
double slowest(ProcessGroup& group, double value);

}  // namespace ddp::bench
