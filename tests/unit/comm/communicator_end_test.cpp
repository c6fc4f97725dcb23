// CommunicatorEnd with a stand-in communicator that counts how it was ended: however the watchdog,
// the monitor and the destructor interleave, one failure reports and the communicator is ended
// once.
#include "ddp/comm/communicator_end.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ddp::comm {
namespace {

struct FakeCommunicator {
  std::atomic<int> aborts{0};
  std::atomic<int> destroys{0};
  std::atomic<int> reports{0};
  // The destroy waits for this, so that a failure can arrive while it runs.
  std::atomic<bool> let_destroy_finish{true};

  CommunicatorEnd end{[this] { ++aborts; },
                      [this] {
                        ++destroys;
                        while (!let_destroy_finish) std::this_thread::yield();
                      }};
  bool fail() {
    return end.fail([this] { ++reports; });
  }
};

TEST(CommunicatorEnd, TheFirstFailureReportsAndAbortsOnce) {
  FakeCommunicator comm;
  EXPECT_TRUE(comm.fail());   // the watchdog's timeout
  EXPECT_FALSE(comm.fail());  // the monitor then sees NCCL's "aborted"
  EXPECT_FALSE(comm.end.destroy());
  EXPECT_EQ(comm.reports, 1);
  EXPECT_EQ(comm.aborts, 1);
  EXPECT_EQ(comm.destroys, 0);
}

TEST(CommunicatorEnd, AFailureAfterTheDestroyIsSilent) {
  FakeCommunicator comm;
  EXPECT_TRUE(comm.end.destroy());
  EXPECT_FALSE(comm.fail());
  EXPECT_EQ(comm.reports, 0);
  EXPECT_EQ(comm.aborts, 0);
  EXPECT_EQ(comm.destroys, 1);
}

TEST(CommunicatorEnd, AHangingDestroyIsReportedButNotAborted) {
  FakeCommunicator comm;
  comm.let_destroy_finish = false;
  std::thread destructor([&] { EXPECT_TRUE(comm.end.destroy()); });
  while (comm.destroys == 0) std::this_thread::yield();
  EXPECT_TRUE(comm.fail());   // the watchdog times the destroy out
  EXPECT_FALSE(comm.fail());  // and only once
  comm.let_destroy_finish = true;
  destructor.join();
  EXPECT_EQ(comm.reports, 1);
  EXPECT_EQ(comm.aborts, 0);
  EXPECT_EQ(comm.destroys, 1);
}

TEST(CommunicatorEnd, RacingFailuresAndADestroyEndItOnce) {
  for (int round = 0; round < 200; ++round) {
    FakeCommunicator comm;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        while (!go) std::this_thread::yield();
        comm.fail();
      });
    }
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      comm.end.destroy();
    });
    go = true;
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(comm.aborts + comm.destroys, 1) << "round " << round;
    ASSERT_LE(comm.reports, 1) << "round " << round;
    if (comm.aborts == 1) {
      ASSERT_EQ(comm.reports, 1) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace ddp::comm
