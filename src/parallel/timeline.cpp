#include "ddp/parallel/timeline.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "ddp/core/error.hpp"

namespace ddp::parallel {
namespace {

// Names and hosts are plain text, but a quote or a control character must not break the file.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string microseconds(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ns) / 1000.0);
  return text;
}

std::int64_t int64_broadcast(ProcessGroup& group, std::int64_t value, int root) {
  Tensor t = Tensor::from_vector<std::int64_t>({value}, {1});
  group.broadcast(t, root);
  return t.data<std::int64_t>()[0];
}

}  // namespace

ClockOffset measure_clock_offset(ProcessGroup& group) {
  const int me = group.rank();
  ClockOffset mine;
  for (int r = 1; r < group.size(); ++r) {
    std::vector<ClockRound> rounds;
    for (int k = 0; k < kClockRounds; ++k) {
      ClockRound round;
      round.sent_ns = trace::now_ns();
      int64_broadcast(group, 0, r);  // the ping, from rank r
      // The answer: rank 0's clock when the ping arrived.
      round.reference_ns = int64_broadcast(group, trace::now_ns(), 0);
      round.received_ns = trace::now_ns();
      rounds.push_back(round);
    }
    if (me == r) mine = estimate_clock_offset(rounds);
  }
  return mine;
}

std::string trace_events_json(const std::vector<trace::Lane>& lanes, int rank,
                              const std::string& host, const ClockOffset& offset,
                              std::int64_t origin_ns) {
  const std::int64_t offset_ns = offset.offset_ns;
  // Spans by the lane they are drawn in: a collective recorded by the main thread belongs to the
  // thread that ran it.
  std::map<int, std::vector<trace::Event>> by_lane;
  for (std::size_t l = 0; l < lanes.size(); ++l) {
    for (const trace::Event& event : lanes[l].events) {
      by_lane[event.lane >= 0 ? event.lane : static_cast<int>(l)].push_back(event);
    }
  }
  const std::string pid = std::to_string(rank);
  std::string out = "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + pid +
                    ",\"args\":{\"name\":" + json_string("rank " + pid + " (" + host + ")") +
                    "}},\n{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":" + pid +
                    ",\"args\":{\"sort_index\":" + pid +
                    "}},\n{\"name\":\"process_labels\",\"ph\":\"M\",\"pid\":" + pid +
                    ",\"args\":{\"labels\":\"clock offset to rank 0 " +
                    microseconds(offset.offset_ns) + " us, round trip " +
                    microseconds(offset.round_trip_ns) + " us\"}}";
  for (auto& [lane, events] : by_lane) {
    const std::string tid = std::to_string(lane);
    const std::string name =
        static_cast<std::size_t>(lane) < lanes.size() ? lanes[lane].name : "thread";
    out += ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + pid + ",\"tid\":" + tid +
           ",\"args\":{\"name\":" + json_string(name) +
           "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":" + pid + ",\"tid\":" + tid +
           ",\"args\":{\"sort_index\":" + tid + "}}";
    // Outer spans before the ones they hold, as the viewers expect within a thread.
    std::sort(events.begin(), events.end(), [](const trace::Event& a, const trace::Event& b) {
      return a.begin_ns != b.begin_ns ? a.begin_ns < b.begin_ns : a.end_ns > b.end_ns;
    });
    for (const trace::Event& event : events) {
      out += ",\n{\"name\":" + json_string(event.name) + ",\"cat\":" + json_string(event.category) +
             ",\"ph\":\"X\",\"pid\":" + pid + ",\"tid\":" + tid +
             ",\"ts\":" + microseconds(event.begin_ns + offset_ns - origin_ns) +
             ",\"dur\":" + microseconds(event.end_ns - event.begin_ns) +
             ",\"args\":{\"step\":" + std::to_string(event.step);
      if (event.queued_ns >= 0) {
        out += ",\"queued_us\":" + microseconds(event.queued_ns + offset_ns - origin_ns) +
               ",\"queue_wait_us\":" + microseconds(event.begin_ns - event.queued_ns);
      }
      if (event.bytes >= 0) out += ",\"bytes\":" + std::to_string(event.bytes);
      out += "}}";
    }
  }
  return out;
}

Timeline::Timeline(ProcessGroup& group, std::string host, std::size_t events_per_lane)
    : group_(group), host_(std::move(host)) {
  offset_ = measure_clock_offset(group_);
  origin_ns_ = int64_broadcast(group_, trace::now_ns(), 0);
  trace::name_this_thread("main");
  trace::start(events_per_lane);
}

std::int64_t Timeline::write(const std::string& path) {
  const std::vector<trace::Lane> lanes = trace::collect();
  std::int64_t dropped = 0;
  for (const trace::Lane& lane : lanes) dropped += lane.dropped;
  const std::string mine = trace_events_json(lanes, group_.rank(), host_, offset_, origin_ns_);
  // Text travels as int32 words (the groups move numbers), padded to whole words.
  const auto words = static_cast<std::int64_t>((mine.size() + 3) / 4);
  Tensor packed = Tensor::zeros({words}, DType::int32);
  std::memcpy(packed.data_ptr(), mine.data(), mine.size());
  const int ranks = group_.size();
  Tensor sizes = Tensor::zeros({ranks, 2}, DType::int64);
  Tensor my_size =
      Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(mine.size()), dropped}, {2});
  group_.all_gather(my_size, sizes);
  Counts counts;
  std::int64_t total_words = 0;
  for (int r = 0; r < ranks; ++r) {
    counts.push_back((sizes.data<std::int64_t>()[2 * r] + 3) / 4);
    total_words += counts.back();
  }
  Tensor all = Tensor::zeros({group_.rank() == 0 ? total_words : 1}, DType::int32);
  group_.gatherv(packed, all, counts, 0);
  if (group_.rank() != 0) return 0;

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DDP_CHECK(out.good(), "cannot write the trace to '" << path << "' (" << std::strerror(errno)
                                                      << "); give a writable path to --trace");
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  const char* text = static_cast<const char*>(all.data_ptr());
  std::int64_t all_dropped = 0;
  for (int r = 0; r < ranks; ++r) {
    if (r > 0) out << ",\n";
    out.write(text, sizes.data<std::int64_t>()[2 * r]);
    text += counts[static_cast<std::size_t>(r)] * 4;
    all_dropped += sizes.data<std::int64_t>()[2 * r + 1];
  }
  out << "\n]}\n";
  out.close();
  DDP_CHECK(out.good(), "writing the trace to '" << path << "' failed; check the disk");
  return all_dropped;
}

}  // namespace ddp::parallel
