#include "shared_buffers.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>

#include "ddp/core/error.hpp"

namespace ddp::comm {
namespace {

constexpr std::size_t kLine = 64;
// How a rank waits for its peers: a few busy checks (a peer already on its way), then checks that
// yield the core (to backward, which may share it) for up to kYieldFor, then sleep on the futex.
// Sleeping at once would cost every small all-reduce a wake-up (20-30 us on these VMs).
constexpr int kSpins = 200;
constexpr auto kYieldFor = std::chrono::microseconds(50);

std::size_t round_up(std::size_t bytes, std::size_t multiple) {
  return (bytes + multiple - 1) / multiple * multiple;
}

bool reached(std::uint32_t value, std::uint32_t target) {
  return static_cast<std::int32_t>(value - target) >= 0;  // sequence numbers wrap
}

// Shared (not FUTEX_PRIVATE) futexes: the waiters are in other processes.
void futex_wait(std::uint32_t* word, std::uint32_t seen) {
  timespec timeout{0, 50'000'000};  // a bound, so a missed wake costs 50 ms and never a hang
  syscall(SYS_futex, word, FUTEX_WAIT, seen, &timeout, nullptr, 0);
}

void futex_wake(std::uint32_t* word) {
  syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

std::string system_error(const std::string& what, const std::string& name, int error) {
  return what + " of shared memory " + name + " failed: " + std::strerror(error);
}

}  // namespace

std::size_t SharedBuffers::mapping_bytes(int size, std::size_t bytes, Layout layout) {
  const std::size_t buffers = layout == Layout::common ? 1 : static_cast<std::size_t>(size);
  return static_cast<std::size_t>(size) * sizeof(RankControl) + buffers * round_up(bytes, kLine);
}

SharedBuffers::SharedBuffers(const std::string& name, bool create, int rank, int size,
                             std::size_t bytes, Layout layout)
    : rank_(rank),
      size_(size),
      layout_(layout),
      buffer_bytes_(round_up(bytes, kLine)),
      mapped_bytes_(mapping_bytes(size, bytes, layout)) {
  int fd = shm_open(name.c_str(), create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
  if (fd < 0) DDP_THROW(CommError, system_error("shm_open", name, errno));
  if (create) {
    int error = posix_fallocate(fd, 0, static_cast<off_t>(mapped_bytes_));
    if (error != 0) {
      close(fd);
      shm_unlink(name.c_str());
      DDP_THROW(CommError,
                system_error("reserving " + std::to_string(mapped_bytes_) + " bytes", name, error));
    }
  }
  void* base = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int error = errno;
  close(fd);
  if (base == MAP_FAILED) DDP_THROW(CommError, system_error("mmap", name, error));
  base_ = static_cast<char*>(base);
}

SharedBuffers::~SharedBuffers() {
  munmap(base_, mapped_bytes_);
}

void SharedBuffers::remove_name(const std::string& name) {
  shm_unlink(name.c_str());
}

SharedBuffers::RankControl& SharedBuffers::control(int rank) const {
  return reinterpret_cast<RankControl*>(base_)[rank];
}

void* SharedBuffers::buffer(int rank) const {
  const std::size_t index = layout_ == Layout::common ? 0 : static_cast<std::size_t>(rank);
  return base_ + static_cast<std::size_t>(size_) * sizeof(RankControl) + index * buffer_bytes_;
}

bool SharedBuffers::holds(const void* pointer, std::size_t bytes) const {
  auto begin = reinterpret_cast<std::uintptr_t>(buffer(rank_));
  auto p = reinterpret_cast<std::uintptr_t>(pointer);
  return p >= begin && p - begin <= buffer_bytes_ && bytes <= buffer_bytes_ - (p - begin);
}

void SharedBuffers::arrive_and_wait(Phase phase, std::uint32_t sequence, Range range) {
  RankControl& mine = control(rank_);
  mine.offset = range.offset;
  mine.count = range.count;
  mine.operation = range.operation;
  // Release: what this rank wrote before (its gradients, its share of the sums) is visible to a
  // rank that sees the new sequence number with acquire.
  std::atomic_ref<std::uint32_t>(mine.phase[phase]).store(sequence, std::memory_order_release);
  futex_wake(&mine.phase[phase]);
  const auto sleep_after = std::chrono::steady_clock::now() + kYieldFor;
  for (int r = 0; r < size_; ++r) {
    std::uint32_t* word = &control(r).phase[phase];
    std::atomic_ref<std::uint32_t> peer(*word);
    for (int spin = 0;; ++spin) {
      std::uint32_t seen = peer.load(std::memory_order_acquire);
      if (reached(seen, sequence)) break;
      if (spin < kSpins) continue;
      if (std::chrono::steady_clock::now() < sleep_after) {
        sched_yield();
      } else {
        futex_wait(word, seen);
      }
    }
  }
}

SharedBuffers::Range SharedBuffers::range_of(int rank) const {
  const RankControl& peer = control(rank);
  return {peer.offset, peer.count, peer.operation};
}

}  // namespace ddp::comm
