// SharedBuffers: one buffer per rank of a group whose ranks share a node (or one buffer for them
// all), in one POSIX shared-memory mapping that every rank maps, so that any rank reads and writes
// every rank's buffer directly; and per-rank counters through which the ranks step through a
// collective on those buffers together (spin briefly, then sleep on a futex: a waiting rank leaves
// its core to backward).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ddp::comm {

class SharedBuffers {
 public:
  // per_rank: a buffer for each rank (a collective's inputs and outputs); common: one buffer that
  // buffer(r) gives for every r (a tensor the ranks share).
  enum class Layout { per_rank, common };

  // The mapping's size for size ranks and buffers of bytes each (rounded up to whole cache lines).
  static std::size_t mapping_bytes(int size, std::size_t bytes, Layout layout);

  // Creates (create = true: the name must not exist; the space is reserved, so a full /dev/shm
  // is an Error here rather than a SIGBUS later) or opens the shared-memory object name. An Error
  // says what failed.
  SharedBuffers(const std::string& name, bool create, int rank, int size, std::size_t bytes,
                Layout layout);
  ~SharedBuffers();
  // Removes the name once every rank has mapped the object; the mappings stay until destroyed.
  static void remove_name(const std::string& name);
  SharedBuffers(const SharedBuffers&) = delete;
  SharedBuffers& operator=(const SharedBuffers&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  void* buffer(int rank) const;
  std::size_t buffer_bytes() const { return buffer_bytes_; }
  // Whether [pointer, pointer + bytes) lies in this rank's own buffer.
  bool holds(const void* pointer, std::size_t bytes) const;

  // Phase `phase` of the next collective: this rank announces it (with the element range it
  // works on, and what it does there), then waits until every rank has. range_of reads back what
  // a rank announced.
  struct Range {
    std::int64_t offset = 0;
    std::int64_t count = 0;
    std::int64_t operation = 0;  // the collective, dtype and op, as its caller encodes them
    bool operator==(const Range&) const = default;
  };
  enum Phase { arrived = 0, finished = 1 };
  void arrive_and_wait(Phase phase, std::uint32_t sequence, Range range);
  Range range_of(int rank) const;

 private:
  struct alignas(64) RankControl {
    std::uint32_t phase[2];  // the sequence number of the last collective this rank reached
    std::int64_t offset;
    std::int64_t count;
    std::int64_t operation;
  };
  RankControl& control(int rank) const;

  int rank_ = 0;
  int size_ = 1;
  Layout layout_ = Layout::per_rank;
  std::size_t buffer_bytes_ = 0;
  std::size_t mapped_bytes_ = 0;
  char* base_ = nullptr;
};

}  // namespace ddp::comm
