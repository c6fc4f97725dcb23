// Trace: a timeline of what each thread of this process did (--trace). Layers record spans into
// per-thread buffers; a program starts the recorder, turns recording on for the steps it wants and
// collects the lanes at the end (parallel/timeline.hpp gathers them to rank 0 and writes the file).
// Off, a span costs one branch; on, two clock reads and a store into this thread's buffer, no lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ddp::trace {

// One complete span of a lane, on this process's steady clock.
struct Event {
  const char* name = "";      // a literal or intern()'s: it lives as long as the process
  const char* category = "";  // "step", "phase", "layer", "collective", "wait"
  std::int64_t begin_ns = 0;
  std::int64_t end_ns = 0;
  std::int64_t step = -1;       // the step recording it (set_step); -1 before the first
  std::int64_t queued_ns = -1;  // a collective: when it was handed to its thread
  std::int64_t bytes = -1;      // a collective: bytes per rank
  int lane = -1;                // the lane it is drawn in; -1: the recording thread's
};

// The spans of one thread, in the order they ended.
struct Lane {
  std::string name;  // "main", "comm", or "thread" for a thread that named itself nothing
  std::vector<Event> events;
  std::int64_t dropped = 0;  // spans that found the buffer full
};

namespace detail {
extern std::atomic<bool> recording;
extern std::atomic<std::int64_t> step;
}  // namespace detail

inline bool recording() {
  return detail::recording.load(std::memory_order_relaxed);
}
inline std::int64_t current_step() {
  return detail::step.load(std::memory_order_relaxed);
}
// The steady clock, in nanoseconds.
std::int64_t now_ns();

// Gives each thread that records a buffer of events_per_lane spans (at its first span); a span
// beyond that is counted as dropped, so memory stays bounded. Recording stays off until asked.
void start(std::size_t events_per_lane);
void set_recording(bool on);
// The step that spans recorded from now on belong to.
void set_step(std::int64_t step);
// Records on this thread's lane (or event.lane): the caller keeps spans of one lane nested.
void record(const Event& event);
// A copy of text that lives as long as the process, for names made at run time ("3: Linear").
// Takes a lock: call it while setting up, not in a step.
const char* intern(const std::string& text);
// The name of this thread's lane; a literal (or intern()'s).
void name_this_thread(const char* name);
// This thread's lane, registered at its first use.
int this_lane();
// Turns recording off and copies every lane, indexed by lane. Threads must not be recording.
std::vector<Lane> collect();

// Records the time from its construction to its destruction on this thread's lane; nothing for a
// null name.
class Span {
 public:
  Span(const char* name, const char* category)
      : name_(name),
        category_(category),
        begin_ns_(name != nullptr && recording() ? now_ns() : -1) {}
  ~Span() { end(); }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // Records now rather than at destruction.
  void end() {
    if (begin_ns_ >= 0) record({name_, category_, begin_ns_, now_ns(), current_step()});
    begin_ns_ = -1;
  }
  // Records nothing.
  void discard() { begin_ns_ = -1; }

 private:
  const char* name_;
  const char* category_;
  std::int64_t begin_ns_;
};

// When a queued task (a collective on its group's thread) was queued, started and ended, and the
// lane that ran it; -1 where it was not recorded.
struct TaskTimes {
  std::int64_t queued_ns = -1;
  std::int64_t started_ns = -1;
  std::int64_t done_ns = -1;
  int lane = -1;
};
// A thread that runs queued tasks marks each one, so that what the task completes (a Work) can
// tell when it was queued and started: begin_task before running it, end_task after.
void begin_task(std::int64_t queued_ns);
void end_task();
// The task this thread is running, with done_ns now; queued and started -1 outside a task.
TaskTimes current_task();

}  // namespace ddp::trace
