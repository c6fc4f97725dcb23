#include "nccl_process_group.hpp"

#include <nccl.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <numeric>
#include <string_view>

#include "collective_checks.hpp"
#include "ddp/comm/runtime.hpp"
#include "ddp/core/log.hpp"
#include "ddp/kernels/cuda_device.hpp"

namespace ddp::comm {
namespace {

using kernels::CudaStream;

// How often the monitor retires finished collectives and asks NCCL for asynchronous errors.
constexpr auto kPollPeriod = std::chrono::milliseconds(5);

[[noreturn]] void throw_nccl_error(ncclResult_t result, std::string_view call, const char* file,
                                   int line) {
  const char* last = ncclGetLastError(nullptr);
  std::ostringstream message;
  message << call.substr(0, call.find('(')) << " failed: " << ncclGetErrorString(result);
  if (last != nullptr && *last != '\0') message << " (" << last << ")";
  throw CommError(message.str(), ddp::detail::source_location(file, line));
}

// Throws CommError "ncclAllReduce failed: <NCCL's words> (<its last error>)".
#define DDP_NCCL_CHECK(call)                                         \
  do {                                                               \
    ncclResult_t ddp_nccl_result_ = (call);                          \
    if (ddp_nccl_result_ != ncclSuccess)                             \
      throw_nccl_error(ddp_nccl_result_, #call, __FILE__, __LINE__); \
  } while (false)

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return ncclFloat32;
    case DType::float64:
      return ncclFloat64;
    case DType::int32:
      return ncclInt32;
    case DType::int64:
      return ncclInt64;
    case DType::bfloat16:
      return ncclBfloat16;
    case DType::float16:
      return ncclFloat16;
  }
  DDP_THROW(Error, "the NCCL backend has no type for " << to_string(dtype));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return ncclSum;
    case ReduceOp::avg:
      return ncclAvg;
    case ReduceOp::min:
      return ncclMin;
    case ReduceOp::max:
      return ncclMax;
  }
  DDP_THROW(Error, "the NCCL backend has no reduction " << static_cast<int>(op));
}

std::size_t count_of(std::int64_t count) {
  return static_cast<std::size_t>(count);
}

char* element(const Tensor& tensor, std::int64_t index) {
  return static_cast<char*>(tensor.data_ptr()) +
         static_cast<std::size_t>(index) * dtype_size(tensor.dtype());
}

std::vector<std::int64_t> displacements(const Counts& counts) {
  std::vector<std::int64_t> displs(counts.size(), 0);
  std::exclusive_scan(counts.begin(), counts.end(), displs.begin(), std::int64_t{0});
  return displs;
}

// A host call that blocks until every rank makes it (init, split), under a watchdog of its own.
template <typename Call>
void run_watched(const std::string& group, const char* name, Call call) {
  Watchdog watchdog(group, collective_timeout());
  watchdog.begin(CollectiveInfo{name, 0, DType::int32, 0, -1, -1});
  call();
  watchdog.end();
}

ncclComm_t init_comm(ProcessGroup& bootstrap, int device, const std::string& name) {
  kernels::set_cuda_device(device);
  ncclUniqueId id{};
  static_assert(sizeof(id) % sizeof(std::int32_t) == 0);
  if (bootstrap.rank() == 0) DDP_NCCL_CHECK(ncclGetUniqueId(&id));
  Tensor bytes = Tensor::empty({sizeof(id) / sizeof(std::int32_t)}, DType::int32);
  std::memcpy(bytes.data_ptr(), &id, sizeof(id));
  bootstrap.broadcast(bytes, 0);
  std::memcpy(&id, bytes.data_ptr(), sizeof(id));
  ncclComm_t comm = nullptr;
  run_watched(name, "ncclCommInitRank", [&] {
    DDP_NCCL_CHECK(ncclCommInitRank(&comm, bootstrap.size(), id, bootstrap.rank()));
  });
  return comm;
}

int user_rank(ncclComm_t comm) {
  int rank = 0;
  DDP_NCCL_CHECK(ncclCommUserRank(comm, &rank));
  return rank;
}

int rank_count(ncclComm_t comm) {
  int count = 0;
  DDP_NCCL_CHECK(ncclCommCount(comm, &count));
  return count;
}

// A collective on the communication stream: waiting orders the compute stream after it, and only
// synchronize() holds the host.
class NcclWork final : public Work {
 public:
  explicit NcclWork(std::shared_ptr<kernels::CudaEvent> end) : end_(std::move(end)) {}

  void wait() override { end_->block(CudaStream::compute); }
  bool is_completed() const override { return end_->query(); }
  void synchronize() override { end_->synchronize(); }

 private:
  std::shared_ptr<kernels::CudaEvent> end_;
};

}  // namespace

NcclProcessGroup::NcclProcessGroup(ProcessGroup& bootstrap, int device, std::string name)
    : NcclProcessGroup(init_comm(bootstrap, device, name), device, name) {}

NcclProcessGroup::NcclProcessGroup(ncclComm* comm, int device, std::string name)
    : comm_(comm),
      device_(device),
      name_(std::move(name)),
      rank_(user_rank(comm)),
      size_(rank_count(comm)),
      stream_(kernels::cuda_stream_handle(device, CudaStream::comm)),
      ready_(device),
      barrier_buffer_(Tensor::zeros({1}, DType::float32, Device::cuda(device))),
      end_([this] { ncclCommAbort(comm_); }, [this] { ncclCommDestroy(comm_); }),
      watchdog_(name_, collective_timeout(),
                [this](const std::string& message) { end_job(message); }),
      monitor_([this] { monitor(); }) {}

NcclProcessGroup::~NcclProcessGroup() {
  if (std::uncaught_exceptions() > 0) {
    // This rank is failing, perhaps alone: its peers may never finish the collectives in flight
    // nor join ncclCommDestroy, and waiting here would hide the error that the program's main is
    // about to print before it aborts the job. The communicator is left to that abort.
    {
      std::lock_guard lock(pending_mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    monitor_.join();
    watchdog_.end();
    return;
  }
  try {
    std::shared_ptr<kernels::CudaEvent> last;
    {
      std::lock_guard lock(pending_mutex_);
      if (!pending_.empty()) last = pending_.back().end;
    }
    // The monitor and watchdog still run: a peer that never comes ends the job, not a hang.
    if (last) last->synchronize();
  } catch (const std::exception& error) {
    DDP_WARN("group " << name_ << " closes with a failed collective: " << error.what());
  }
  {
    std::lock_guard lock(pending_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  monitor_.join();
  // Everything has finished; the monitor may not have seen it, and the watchdog must not time it.
  // ncclCommDestroy waits for the peers of this node: a peer that never comes ends the job.
  watchdog_.begin(CollectiveInfo{"ncclCommDestroy", 0, DType::int32, 0, -1, -1});
  end_.destroy();
  watchdog_.end();
}

void NcclProcessGroup::check_on_device(const Tensor& tensor, const char* collective) const {
  DDP_CHECK(tensor.defined() && tensor.device() == Device::cuda(device_),
            collective << " on the NCCL backend needs tensors on cuda:" << device_
                       << ", this rank's GPU, got "
                       << (tensor.defined() ? "one on " + to_string(tensor.device())
                                            : std::string("an undefined tensor"))
                       << "; move it there (Tensor::to) or use the MPI backend");
}

WorkPtr NcclProcessGroup::launch(CollectiveInfo info, std::vector<Tensor> tensors,
                                 const std::function<void()>& issue) {
  auto end = std::make_shared<kernels::CudaEvent>(device_);
  std::lock_guard lock(issue_mutex_);
  info.sequence = next_sequence_++;
  ready_.record(CudaStream::compute);
  ready_.block(CudaStream::comm);
  DDP_NCCL_CHECK(ncclGroupStart());
  try {
    issue();
  } catch (...) {
    ncclGroupEnd();
    throw;
  }
  DDP_NCCL_CHECK(ncclGroupEnd());
  end->record(CudaStream::comm);
  {
    std::lock_guard pending_lock(pending_mutex_);
    pending_.push_back(Pending{info, end, std::move(tensors)});
  }
  return std::make_shared<NcclWork>(std::move(end));
}

WorkPtr NcclProcessGroup::all_reduce_async(Tensor input, Tensor output, ReduceOp op) {
  check_on_device(input, "all_reduce");
  check_on_device(output, "all_reduce");
  check_all_reduce(input, output, op);
  CollectiveInfo info{"all_reduce", 0, input.dtype(), input.numel(), -1, static_cast<int>(op)};
  return launch(info, {input, output}, [&] {
    DDP_NCCL_CHECK(ncclAllReduce(input.data_ptr(), output.data_ptr(), count_of(input.numel()),
                                 nccl_type(input.dtype()), nccl_op(op), comm_,
                                 static_cast<cudaStream_t>(stream_)));
  });
}

WorkPtr NcclProcessGroup::broadcast_async(Tensor tensor, int root) {
  check_on_device(tensor, "broadcast");
  check_root(root, size_, "broadcast");
  CollectiveInfo info{"broadcast", 0, tensor.dtype(), tensor.numel(), root, -1};
  return launch(info, {tensor}, [&] {
    DDP_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), count_of(tensor.numel()),
                                 nccl_type(tensor.dtype()), root, comm_,
                                 static_cast<cudaStream_t>(stream_)));
  });
}

WorkPtr NcclProcessGroup::all_gather_async(Tensor input, Tensor output) {
  check_on_device(input, "all_gather");
  check_on_device(output, "all_gather");
  check_all_gather(input, output, size_);
  CollectiveInfo info{"all_gather", 0, input.dtype(), input.numel(), -1, -1};
  return launch(info, {input, output}, [&] {
    DDP_NCCL_CHECK(ncclAllGather(input.data_ptr(), output.data_ptr(), count_of(input.numel()),
                                 nccl_type(input.dtype()), comm_,
                                 static_cast<cudaStream_t>(stream_)));
  });
}

WorkPtr NcclProcessGroup::all_gatherv_async(Tensor input, Tensor output, Counts counts) {
  check_on_device(input, "all_gatherv");
  check_on_device(output, "all_gatherv");
  std::int64_t total = check_all_gatherv(input, output, counts, rank_, size_);
  CollectiveInfo info{"all_gatherv", 0, input.dtype(), total, -1, -1};
  // One broadcast per rank's block, grouped into one launch; the own block in place or copied.
  return launch(info, {input, output}, [&] {
    std::vector<std::int64_t> displs = displacements(counts);
    for (int r = 0; r < size_; ++r) {
      if (counts[r] == 0) continue;
      void* block = element(output, displs[r]);
      const void* send = r == rank_ ? input.data_ptr() : block;
      DDP_NCCL_CHECK(ncclBroadcast(send, block, count_of(counts[r]), nccl_type(input.dtype()), r,
                                   comm_, static_cast<cudaStream_t>(stream_)));
    }
  });
}

WorkPtr NcclProcessGroup::gatherv_async(Tensor input, Tensor output, Counts counts, int root) {
  check_on_device(input, "gatherv");
  if (rank_ == root) check_on_device(output, "gatherv");
  std::int64_t total = check_gatherv(input, output, counts, root, rank_, size_);
  CollectiveInfo info{"gatherv", 0, input.dtype(), total, root, -1};
  // Only the root's output is written; the others' may be anything.
  if (rank_ != root) output = Tensor();
  return launch(info, {input, output}, [&] {
    ncclDataType_t type = nccl_type(input.dtype());
    auto stream = static_cast<cudaStream_t>(stream_);
    if (rank_ != root) {
      if (counts[rank_] > 0) {
        DDP_NCCL_CHECK(
            ncclSend(input.data_ptr(), count_of(counts[rank_]), type, root, comm_, stream));
      }
      return;
    }
    std::vector<std::int64_t> displs = displacements(counts);
    for (int r = 0; r < size_; ++r) {
      if (counts[r] == 0) continue;
      char* block = element(output, displs[r]);
      if (r != root) {
        DDP_NCCL_CHECK(ncclRecv(block, count_of(counts[r]), type, r, comm_, stream));
      } else if (block != input.data_ptr()) {
        kernels::cuda_copy_async(block, input.data_ptr(), input.nbytes(), device_,
                                 CudaStream::comm);
      }
    }
  });
}

WorkPtr NcclProcessGroup::scatterv_async(Tensor input, Tensor output, Counts counts, int root) {
  if (rank_ == root) check_on_device(input, "scatterv");
  check_on_device(output, "scatterv");
  std::int64_t total = check_scatterv(input, output, counts, root, rank_, size_);
  CollectiveInfo info{"scatterv", 0, output.dtype(), total, root, -1};
  // Only the root's input is read; the others' may be anything.
  if (rank_ != root) input = Tensor();
  return launch(info, {input, output}, [&] {
    ncclDataType_t type = nccl_type(output.dtype());
    auto stream = static_cast<cudaStream_t>(stream_);
    if (rank_ != root) {
      if (counts[rank_] > 0) {
        DDP_NCCL_CHECK(
            ncclRecv(output.data_ptr(), count_of(counts[rank_]), type, root, comm_, stream));
      }
      return;
    }
    std::vector<std::int64_t> displs = displacements(counts);
    for (int r = 0; r < size_; ++r) {
      if (counts[r] == 0) continue;
      char* block = element(input, displs[r]);
      if (r != root) {
        DDP_NCCL_CHECK(ncclSend(block, count_of(counts[r]), type, r, comm_, stream));
      } else if (block != output.data_ptr()) {
        kernels::cuda_copy_async(output.data_ptr(), block, output.nbytes(), device_,
                                 CudaStream::comm);
      }
    }
  });
}

WorkPtr NcclProcessGroup::reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) {
  check_on_device(input, "reduce_scatter");
  check_on_device(output, "reduce_scatter");
  check_reduce_scatter(input, output, op, size_);
  CollectiveInfo info{"reduce_scatter", 0,  output.dtype(),
                      output.numel(),   -1, static_cast<int>(op)};
  return launch(info, {input, output}, [&] {
    DDP_NCCL_CHECK(ncclReduceScatter(input.data_ptr(), output.data_ptr(), count_of(output.numel()),
                                     nccl_type(output.dtype()), nccl_op(op), comm_,
                                     static_cast<cudaStream_t>(stream_)));
  });
}

WorkPtr NcclProcessGroup::barrier_async() {
  CollectiveInfo info{"barrier", 0, DType::float32, 1, -1, -1};
  return launch(info, {barrier_buffer_}, [&] {
    DDP_NCCL_CHECK(ncclAllReduce(barrier_buffer_.data_ptr(), barrier_buffer_.data_ptr(), 1,
                                 ncclFloat32, ncclSum, comm_, static_cast<cudaStream_t>(stream_)));
  });
}

std::shared_ptr<ProcessGroup> NcclProcessGroup::split(int color, int key) {
  ncclComm_t child = nullptr;
  {
    std::lock_guard lock(issue_mutex_);
    run_watched(name_, "ncclCommSplit", [&] {
      DDP_NCCL_CHECK(
          ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, key, &child, nullptr));
    });
  }
  if (child == nullptr) return nullptr;
  return std::shared_ptr<ProcessGroup>(
      new NcclProcessGroup(child, device_, name_ + "/split(" + std::to_string(color) + ")"));
}

void NcclProcessGroup::monitor() {
  std::unique_lock lock(pending_mutex_);
  // Before its first event query: a thread without a device would open a context on GPU 0.
  try {
    kernels::set_cuda_device(device_);
  } catch (const std::exception& error) {
    return fail(error.what());
  }
  while (!wake_.wait_for(lock, kPollPeriod, [this] { return stopping_; })) {
    ncclResult_t async = ncclSuccess;
    ncclResult_t polled = ncclCommGetAsyncError(comm_, &async);
    if (polled != ncclSuccess) async = polled;
    if (async != ncclSuccess && async != ncclInProgress) {
      const char* last = ncclGetLastError(comm_);
      // After the watchdog's abort NCCL reports it too: fail returns, and the monitor is done.
      return fail(
          std::string("NCCL reports ") + ncclGetErrorString(async) +
          (last != nullptr && *last != '\0' ? std::string(" (") + last + ")" : std::string()));
    }
    try {
      while (!pending_.empty() && pending_.front().end->query()) pending_.pop_front();
    } catch (const std::exception& error) {
      return fail(error.what());
    }
    watch_oldest();
  }
}

void NcclProcessGroup::watch_oldest() {
  if (pending_.empty()) {
    if (watched_) watchdog_.end();
    watched_.reset();
  } else if (watched_ != pending_.front().info.sequence) {
    watched_ = pending_.front().info.sequence;
    watchdog_.begin(pending_.front().info);
  }
}

void NcclProcessGroup::fail(const std::string& why) {
  std::string what =
      pending_.empty() ? std::string("a collective") : describe(pending_.front().info);
  end_job(what + " on group " + name_ + " failed: " + why + "; aborting the job");
}

void NcclProcessGroup::end_job(const std::string& message) {
  if (end_.fail([&] { DDP_ERROR(message); })) Runtime::abort_job(1);
}

std::shared_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& bootstrap, int device,
                                                      std::string name) {
  return std::make_shared<NcclProcessGroup>(bootstrap, device, std::move(name));
}

}  // namespace ddp::comm
