#include "ddp/core/trace.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

namespace ddp::trace {
namespace detail {
std::atomic<bool> recording{false};
std::atomic<std::int64_t> step{-1};
}  // namespace detail

namespace {

// One thread's buffer: written by its thread only; count is published with release so that
// collect() reads whole events.
struct LaneBuffer {
  const char* name = "thread";
  std::unique_ptr<Event[]> events;
  std::size_t capacity = 0;
  std::atomic<std::size_t> count{0};
  std::atomic<std::int64_t> dropped{0};
};

struct Registry {
  std::mutex mutex;
  std::deque<LaneBuffer> lanes;  // a deque: a lane does not move when another is added
  std::deque<std::string> names;
  std::size_t events_per_lane = 0;
};

Registry& registry() {
  static Registry* instance = new Registry;  // never destroyed: threads may record at exit
  return *instance;
}

thread_local LaneBuffer* my_lane = nullptr;
thread_local int my_lane_index = -1;
thread_local const char* my_lane_name = nullptr;
thread_local TaskTimes my_task;

LaneBuffer& lane_of_this_thread() {
  if (my_lane == nullptr) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    my_lane_index = static_cast<int>(r.lanes.size());
    my_lane = &r.lanes.emplace_back();
    if (my_lane_name != nullptr) my_lane->name = my_lane_name;
  }
  return *my_lane;
}

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void start(std::size_t events_per_lane) {
  std::lock_guard lock(registry().mutex);
  registry().events_per_lane = events_per_lane;
}

void set_recording(bool on) {
  detail::recording.store(on, std::memory_order_relaxed);
}

void set_step(std::int64_t step) {
  detail::step.store(step, std::memory_order_relaxed);
}

void record(const Event& event) {
  LaneBuffer& lane = lane_of_this_thread();
  if (!lane.events) {
    // The one allocation of this lane, at its first span.
    std::lock_guard lock(registry().mutex);
    lane.capacity = registry().events_per_lane;
    lane.events = std::make_unique<Event[]>(lane.capacity);
  }
  const std::size_t n = lane.count.load(std::memory_order_relaxed);
  if (n == lane.capacity) {
    lane.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  lane.events[n] = event;
  lane.count.store(n + 1, std::memory_order_release);
}

const char* intern(const std::string& text) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.names.emplace_back(text).c_str();
}

void name_this_thread(const char* name) {
  my_lane_name = name;
  if (my_lane != nullptr) {
    std::lock_guard lock(registry().mutex);
    my_lane->name = name;
  }
}

int this_lane() {
  lane_of_this_thread();
  return my_lane_index;
}

std::vector<Lane> collect() {
  set_recording(false);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<Lane> out;
  for (LaneBuffer& buffer : r.lanes) {
    Lane& lane = out.emplace_back();
    lane.name = buffer.name;
    const std::size_t n = buffer.count.load(std::memory_order_acquire);
    lane.events.assign(buffer.events.get(), buffer.events.get() + n);
    lane.dropped = buffer.dropped.load(std::memory_order_relaxed);
  }
  return out;
}

void begin_task(std::int64_t queued_ns) {
  my_task.queued_ns = queued_ns;
  my_task.started_ns = queued_ns >= 0 ? now_ns() : -1;
}

void end_task() {
  my_task = {};
}

TaskTimes current_task() {
  TaskTimes times = my_task;
  times.done_ns = now_ns();
  times.lane = this_lane();
  return times;
}

}  // namespace ddp::trace
