// NcclProcessGroup: the ProcessGroup over an NCCL communicator, for tensors on this rank's GPU.
// A collective waits, on the GPU and not on the host, for the compute stream's work issued before
// it (the gradients it reads), runs on the device's communication stream, and returns a Work whose
// wait() makes the compute stream wait for it in turn: backward goes on meanwhile. A monitor thread
// retires finished collectives and polls NCCL's asynchronous errors; with the watchdog it ends the
// job (ncclCommAbort, then MPI_Abort) when a collective fails or hangs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collective_info.hpp"
#include "ddp/comm/communicator_end.hpp"
#include "ddp/comm/process_group.hpp"
#include "ddp/kernels/cuda_stream.hpp"
#include "watchdog.hpp"

struct ncclComm;  // nccl.h's communicator; only nccl_process_group.cpp includes nccl.h

namespace ddp::comm {

class NcclProcessGroup final : public ProcessGroup {
 public:
  // Collective over bootstrap, whose ranks become this group's: rank 0 makes NCCL's unique id and
  // broadcasts it over bootstrap. device is this rank's GPU, another than those of the other ranks
  // on the host (NCCL refuses two ranks on one GPU). name appears in error messages.
  NcclProcessGroup(ProcessGroup& bootstrap, int device, std::string name);
  // Waits for the collectives still in flight, then destroys the communicator.
  ~NcclProcessGroup() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  // Every tensor must live on cuda:device. The blocking forms order the compute stream after the
  // collective and return at once (Work::wait); Work::synchronize() makes the host wait too.
  using ProcessGroup::all_reduce_async;
  WorkPtr all_reduce_async(Tensor input, Tensor output, ReduceOp op) override;
  WorkPtr broadcast_async(Tensor tensor, int root) override;
  WorkPtr all_gather_async(Tensor input, Tensor output) override;
  WorkPtr all_gatherv_async(Tensor input, Tensor output, Counts counts) override;
  WorkPtr gatherv_async(Tensor input, Tensor output, Counts counts, int root) override;
  WorkPtr scatterv_async(Tensor input, Tensor output, Counts counts, int root) override;
  WorkPtr reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) override;
  // An all-reduce of one element: the compute stream passes it once every rank has reached it.
  WorkPtr barrier_async() override;
  // ncclCommSplit: the new group shares this one's device.
  std::shared_ptr<ProcessGroup> split(int color, int key) override;

 private:
  // Takes ownership of comm.
  NcclProcessGroup(ncclComm* comm, int device, std::string name);

  // A collective issued and not yet seen finished: its tensors stay alive until then, so that the
  // caching allocator cannot hand their memory to the compute stream while NCCL still uses it.
  struct Pending {
    CollectiveInfo info;
    std::shared_ptr<kernels::CudaEvent> end;
    std::vector<Tensor> tensors;
  };

  // Numbers the collective, makes the communication stream wait for the compute stream, runs
  // issue (the NCCL calls) inside ncclGroupStart/End and records the end event.
  WorkPtr launch(CollectiveInfo info, std::vector<Tensor> tensors,
                 const std::function<void()>& issue);
  void check_on_device(const Tensor& tensor, const char* collective) const;
  void monitor();
  // The watchdog times the oldest collective in flight (they finish in issue order).
  void watch_oldest();
  // One line naming the oldest collective in flight and why, ncclCommAbort, then the job ends;
  // returns only when another failure or the destructor owns the end (end_ says which).
  void fail(const std::string& why);
  // message, ncclCommAbort and the end of the job, unless end_ belongs to another thread.
  void end_job(const std::string& message);

  ncclComm* comm_;
  int device_;
  std::string name_;
  int rank_;
  int size_;
  void* stream_;  // the device's communication stream, as NCCL takes it

  std::mutex issue_mutex_;  // NCCL calls on one communicator must not interleave across threads
  std::uint64_t next_sequence_ = 0;
  kernels::CudaEvent ready_;  // re-recorded per collective: a stream wait uses the record before it
  Tensor barrier_buffer_;

  std::mutex pending_mutex_;
  std::condition_variable wake_;
  std::deque<Pending> pending_;
  std::optional<std::uint64_t> watched_;  // sequence of the collective the watchdog times
  bool stopping_ = false;
  CommunicatorEnd end_;  // the watchdog, the monitor and the destructor all may end comm_
  Watchdog watchdog_;
  std::thread monitor_;  // last: starts after the members it reads are built
};

// The group as make_process_group builds it; without CUDA in the build, an Error.
std::shared_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& bootstrap, int device,
                                                      std::string name);

}  // namespace ddp::comm
