// main() of the MPI test programs: one Runtime for the whole run; rank 0 prints gtest's usual
// report, the other ranks print only their failures, each under its rank.
#include <gtest/gtest.h>

#include <iostream>

#include "ddp/comm/runtime.hpp"
#include "mpi_test_env.hpp"

namespace {

class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::cerr << "[rank " << rank_ << "] " << (result.file_name() ? result.file_name() : "?") << ":"
              << result.line_number() << ": failure\n"
              << result.summary() << std::endl;
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  ddp::Runtime runtime(argc, argv);
  ddp::testing_env::runtime = &runtime;
  if (runtime.rank() != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(runtime.rank()));
  }
  int result = RUN_ALL_TESTS();
  ddp::testing_env::runtime = nullptr;
  return result;
}
