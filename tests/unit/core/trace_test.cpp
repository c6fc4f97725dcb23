#include "ddp/core/trace.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace ddp::trace {
namespace {

// Each test runs in a process of its own (gtest_discover_tests), so the recorder starts empty.

TEST(Trace, RecordsSpansOnlyWhileRecordingAndDropsWhatDoesNotFit) {
  start(3);
  name_this_thread("main");
  { const Span before("before", "phase"); }
  set_recording(true);
  set_step(7);
  {
    const Span outer("outer", "phase");
    const Span inner("inner", "layer");
    const Span unnamed(nullptr, "layer");
  }
  for (int i = 0; i < 3; ++i) record({.name = "more", .begin_ns = i, .end_ns = i + 1});
  set_recording(false);
  { const Span after("after", "phase"); }
  const std::vector<Lane> lanes = collect();
  const Lane& lane = lanes.at(static_cast<std::size_t>(this_lane()));
  EXPECT_EQ(lane.name, "main");
  // Three fit: the inner span ended first, inside the outer one; two of "more" were dropped.
  ASSERT_EQ(lane.events.size(), 3u);
  EXPECT_EQ(lane.dropped, 2);
  EXPECT_STREQ(lane.events[0].name, "inner");
  EXPECT_STREQ(lane.events[1].name, "outer");
  EXPECT_STREQ(lane.events[2].name, "more");
  EXPECT_EQ(lane.events[0].step, 7);
  EXPECT_LE(lane.events[1].begin_ns, lane.events[0].begin_ns);
  EXPECT_LE(lane.events[0].end_ns, lane.events[1].end_ns);
}

TEST(Trace, GivesEachThreadItsLaneAndTimesItsTasks) {
  start(8);
  set_recording(true);
  const std::int64_t queued = now_ns();
  TaskTimes times;
  int lane = -1;
  std::thread worker([&] {
    name_this_thread("comm");
    begin_task(queued);
    times = current_task();
    end_task();
    lane = this_lane();
  });
  worker.join();
  EXPECT_NE(lane, this_lane());
  EXPECT_EQ(times.lane, lane);
  EXPECT_EQ(times.queued_ns, queued);
  EXPECT_LE(times.queued_ns, times.started_ns);
  EXPECT_LE(times.started_ns, times.done_ns);
  EXPECT_EQ(collect().at(static_cast<std::size_t>(lane)).name, "comm");
  // Outside a task only the end is known.
  EXPECT_EQ(current_task().started_ns, -1);
}

}  // namespace
}  // namespace ddp::trace
