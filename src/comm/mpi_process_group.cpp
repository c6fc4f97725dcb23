#include "mpi_process_group.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstring>
#include <numeric>
#include <sstream>
#include <vector>

#include "average.hpp"
#include "collective_checks.hpp"
#include "ddp/core/env.hpp"
#include "mpi_types.hpp"

namespace ddp::comm {
namespace {

// Elements per MPI call for the collectives that can be cut into pieces (all_reduce, broadcast).
constexpr std::int64_t kMaxChunk = std::int64_t{1} << 30;

template <typename Call>
void for_each_chunk(std::int64_t count, Call call) {
  for (std::int64_t offset = 0; offset < count; offset += kMaxChunk) {
    call(offset, static_cast<int>(std::min(kMaxChunk, count - offset)));
  }
}

char* element(const Tensor& tensor, std::int64_t index) {
  return static_cast<char*>(tensor.data_ptr()) +
         static_cast<std::size_t>(index) * dtype_size(tensor.dtype());
}

// What only MPI cannot carry: dtypes and ops mpi_types.hpp has no handle for.
void check_mpi_reduction(DType dtype, ReduceOp op) {
  mpi_datatype(dtype);
  mpi_op(op, dtype);
}

// The v-collectives' counts (checked against the group and the tensors) as MPI's ints; an Error
// when one or their total exceeds MPI's int.
std::vector<int> mpi_counts(const Counts& counts, std::int64_t total, const char* collective) {
  std::vector<int> sizes;
  for (std::int64_t count : counts) sizes.push_back(mpi_count(count, collective));
  mpi_count(total, collective);
  return sizes;
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> displs(counts.size(), 0);
  std::exclusive_scan(counts.begin(), counts.end(), displs.begin(), 0);
  return displs;
}

// What a rank announces in debug mode: fixed-size, so it travels as plain bytes.
struct Fingerprint {
  std::array<char, 24> name{};
  std::int64_t sequence = 0;
  std::int64_t dtype = 0;
  std::int64_t count = 0;
  std::int64_t root = 0;
  std::int64_t op = 0;

  explicit Fingerprint(const CollectiveInfo& info)
      : sequence(static_cast<std::int64_t>(info.sequence)),
        dtype(static_cast<std::int64_t>(info.dtype)),
        count(info.count),
        root(info.root),
        op(info.op) {
    std::strncpy(name.data(), info.name, name.size() - 1);
  }
  Fingerprint() = default;

  bool operator==(const Fingerprint& other) const {
    return name == other.name && sequence == other.sequence && dtype == other.dtype &&
           count == other.count && root == other.root && op == other.op;
  }

  std::string describe() const {
    std::ostringstream text;
    text << name.data() << " #" << sequence << " (" << to_string(static_cast<DType>(dtype)) << ", "
         << count << " elements";
    if (root >= 0) text << ", root " << root;
    if (op >= 0) text << ", " << to_string(static_cast<ReduceOp>(op));
    text << ")";
    return text.str();
  }
};

}  // namespace

MpiProcessGroup::MpiProcessGroup(MPI_Comm comm, std::string name)
    : comm_(comm),
      name_(std::move(name)),
      debug_(env::get_bool("DDP_DEBUG", false)),
      watchdog_(name_, collective_timeout()) {
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiProcessGroup::~MpiProcessGroup() {
  // The executor must finish before the communicator goes; members die after this body.
  auto work = std::make_shared<Work>();
  executor_.submit([this, work] {
    MPI_Comm_free(&comm_);
    work->mark_completed();
  });
  work->wait();
}

WorkPtr MpiProcessGroup::enqueue(CollectiveInfo info, std::function<void()> run) {
  auto work = std::make_shared<Work>();
  std::lock_guard lock(issue_mutex_);
  info.sequence = next_sequence_++;
  executor_.submit([this, info, run = std::move(run), work] {
    watchdog_.begin(info);
    try {
      if (debug_) check_same_collective(info);
      run();
      watchdog_.end();
      work->mark_completed();
    } catch (...) {
      watchdog_.end();
      work->mark_failed(std::current_exception());
    }
  });
  return work;
}

WorkPtr MpiProcessGroup::enqueue(CollectiveInfo info, Tensor input, Tensor output, Staging staging,
                                 HostCollective run) {
  std::optional<int> gpu = gpu_of(input, output, info.name);
  if (!gpu) {
    return enqueue(info, [run = std::move(run), input = std::move(input),
                          output = std::move(output)] { run(input, output); });
  }
  // Recorded now, on the issuing thread: the collective reads what was computed before this call.
  auto ready = std::make_shared<kernels::CudaEvent>(*gpu);
  ready->record(kernels::CudaStream::compute);
  return enqueue(info, [ready, input = std::move(input), output = std::move(output), staging,
                        run = std::move(run)] { run_staged(*ready, input, output, staging, run); });
}

void MpiProcessGroup::check_same_collective(const CollectiveInfo& info) {
  Fingerprint mine(info);
  std::vector<Fingerprint> all(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&mine, sizeof(Fingerprint), MPI_BYTE, all.data(), sizeof(Fingerprint),
                          MPI_BYTE, comm_),
            "MPI_Allgather (DDP_DEBUG check)");
  if (std::all_of(all.begin(), all.end(), [&](const Fingerprint& f) { return f == all[0]; })) {
    return;
  }
  std::ostringstream text;
  for (int r = 0; r < size_; ++r) {
    if (r > 0 && all[r] == all[r - 1]) continue;
    int last = r;
    while (last + 1 < size_ && all[last + 1] == all[r]) ++last;
    if (r > 0) text << "; ";
    text << (last == r ? "rank " : "ranks ") << r;
    if (last > r) text << "-" << last;
    text << " issued " << all[r].describe();
  }
  DDP_THROW(CommError, "collectives differ across the ranks of group "
                           << name_ << " (found by DDP_DEBUG): " << text.str()
                           << "; every rank must issue the same collectives in the same order");
}

WorkPtr MpiProcessGroup::all_reduce_async(Tensor input, Tensor output, ReduceOp op) {
  check_all_reduce(input, output, op);
  check_mpi_reduction(input.dtype(), op);
  CollectiveInfo info{"all_reduce", 0, input.dtype(), input.numel(), -1, static_cast<int>(op)};
  return enqueue(info, input, output, {}, [this, op](const Tensor& in, const Tensor& out) {
    bool in_place = in.data_ptr() == out.data_ptr();
    for_each_chunk(out.numel(), [&](std::int64_t offset, int count) {
      const void* send = in_place ? MPI_IN_PLACE : element(in, offset);
      check_mpi(MPI_Allreduce(send, element(out, offset), count, mpi_datatype(out.dtype()),
                              mpi_op(op, out.dtype()), comm_),
                "MPI_Allreduce");
    });
    if (op == ReduceOp::avg) divide_by(out, size_);
  });
}

WorkPtr MpiProcessGroup::broadcast_async(Tensor tensor, int root) {
  check_root(root, size_, "broadcast");
  mpi_datatype(tensor.dtype());
  CollectiveInfo info{"broadcast", 0, tensor.dtype(), tensor.numel(), root, -1};
  Staging staging{.reads_input = rank_ == root, .writes_output = rank_ != root};
  return enqueue(info, tensor, tensor, staging, [this, root](const Tensor& t, const Tensor&) {
    for_each_chunk(t.numel(), [&](std::int64_t offset, int count) {
      check_mpi(MPI_Bcast(element(t, offset), count, mpi_datatype(t.dtype()), root, comm_),
                "MPI_Bcast");
    });
  });
}

WorkPtr MpiProcessGroup::all_gather_async(Tensor input, Tensor output) {
  check_all_gather(input, output, size_);
  int count = mpi_count(input.numel(), "all_gather");
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"all_gather", 0, input.dtype(), input.numel(), -1, -1};
  return enqueue(info, input, output, {}, [this, count, type](const Tensor& in, const Tensor& out) {
    bool in_place = in.data_ptr() == element(out, std::int64_t{rank_} * count);
    const void* send = in_place ? MPI_IN_PLACE : in.data_ptr();
    check_mpi(MPI_Allgather(send, count, type, out.data_ptr(), count, type, comm_),
              "MPI_Allgather");
  });
}

WorkPtr MpiProcessGroup::all_gatherv_async(Tensor input, Tensor output, Counts counts) {
  std::int64_t total = check_all_gatherv(input, output, counts, rank_, size_);
  std::vector<int> sizes = mpi_counts(counts, total, "all_gatherv");
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"all_gatherv", 0, input.dtype(), total, -1, -1};
  return enqueue(info, input, output, {}, [this, sizes, type](const Tensor& in, const Tensor& out) {
    std::vector<int> displs = displacements(sizes);
    bool in_place = in.data_ptr() == element(out, displs[rank_]) && sizes[rank_] > 0;
    const void* send = in_place ? MPI_IN_PLACE : in.data_ptr();
    check_mpi(MPI_Allgatherv(send, sizes[rank_], type, out.data_ptr(), sizes.data(), displs.data(),
                             type, comm_),
              "MPI_Allgatherv");
  });
}

WorkPtr MpiProcessGroup::gatherv_async(Tensor input, Tensor output, Counts counts, int root) {
  std::int64_t total = check_gatherv(input, output, counts, root, rank_, size_);
  std::vector<int> sizes = mpi_counts(counts, total, "gatherv");
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"gatherv", 0, input.dtype(), total, root, -1};
  // Only the root's output is written; the others' may be anything, and stays as it was.
  Staging staging{.reads_input = true, .writes_output = rank_ == root};
  if (rank_ != root) output = Tensor();
  return enqueue(
      info, input, output, staging, [this, sizes, type, root](const Tensor& in, const Tensor& out) {
        std::vector<int> displs = displacements(sizes);
        bool in_place =
            rank_ == root && sizes[rank_] > 0 && in.data_ptr() == element(out, displs[rank_]);
        const void* send = in_place ? MPI_IN_PLACE : in.data_ptr();
        void* receive = rank_ == root ? out.data_ptr() : nullptr;
        check_mpi(MPI_Gatherv(send, sizes[rank_], type, receive, sizes.data(), displs.data(), type,
                              root, comm_),
                  "MPI_Gatherv");
      });
}

WorkPtr MpiProcessGroup::scatterv_async(Tensor input, Tensor output, Counts counts, int root) {
  std::int64_t total = check_scatterv(input, output, counts, root, rank_, size_);
  std::vector<int> sizes = mpi_counts(counts, total, "scatterv");
  MPI_Datatype type = mpi_datatype(output.dtype());
  CollectiveInfo info{"scatterv", 0, output.dtype(), total, root, -1};
  // Only the root's input is read; the others' may be anything.
  if (rank_ != root) input = Tensor();
  return enqueue(
      info, input, output, {}, [this, sizes, type, root](const Tensor& in, const Tensor& out) {
        std::vector<int> displs = displacements(sizes);
        bool in_place =
            rank_ == root && sizes[rank_] > 0 && out.data_ptr() == element(in, displs[rank_]);
        const void* send = rank_ == root ? in.data_ptr() : nullptr;
        void* receive = in_place ? MPI_IN_PLACE : out.data_ptr();
        check_mpi(MPI_Scatterv(send, sizes.data(), displs.data(), type, receive, sizes[rank_], type,
                               root, comm_),
                  "MPI_Scatterv");
      });
}

WorkPtr MpiProcessGroup::reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) {
  check_reduce_scatter(input, output, op, size_);
  check_mpi_reduction(output.dtype(), op);
  int count = mpi_count(output.numel(), "reduce_scatter");
  CollectiveInfo info{"reduce_scatter", 0,  output.dtype(),
                      output.numel(),   -1, static_cast<int>(op)};
  const bool in_place = output.data_ptr() == element(input, std::int64_t{rank_} * count);
  return enqueue(
      info, input, output, {}, [this, op, count, in_place](const Tensor& in, const Tensor& out) {
        // In place, MPI takes the input from the receive buffer and leaves the result at its start.
        check_mpi(
            MPI_Reduce_scatter_block(in_place ? MPI_IN_PLACE : in.data_ptr(),
                                     in_place ? in.data_ptr() : out.data_ptr(), count,
                                     mpi_datatype(out.dtype()), mpi_op(op, out.dtype()), comm_),
            "MPI_Reduce_scatter_block");
        if (in_place && out.data_ptr() != in.data_ptr()) {
          std::memmove(out.data_ptr(), in.data_ptr(),
                       static_cast<std::size_t>(count) * dtype_size(out.dtype()));
        }
        if (op == ReduceOp::avg) divide_by(out, size_);
      });
}

WorkPtr MpiProcessGroup::barrier_async() {
  CollectiveInfo info{"barrier", 0, DType::int32, 0, -1, -1};
  return enqueue(info, [this] {
    if (size_ == 1) return;
    // Fences on both sides: the writes a rank made to a node-shared tensor before the barrier are
    // what its peers read after it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
    std::atomic_thread_fence(std::memory_order_seq_cst);
  });
}

std::shared_ptr<ProcessGroup> MpiProcessGroup::split(int color, int key) {
  auto new_comm = std::make_shared<MPI_Comm>(MPI_COMM_NULL);
  CollectiveInfo info{"split", 0, DType::int32, 0, -1, -1};
  enqueue(info, [this, color, key, new_comm] {
    check_mpi(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, new_comm.get()),
              "MPI_Comm_split");
  })->wait();
  if (*new_comm == MPI_COMM_NULL) return nullptr;
  return std::make_shared<MpiProcessGroup>(*new_comm,
                                           name_ + "/split(" + std::to_string(color) + ")");
}

MpiProcessGroup::NodeSplit MpiProcessGroup::split_by_node(int node) {
  NodeSplit split;
  MPI_Comm node_comm = MPI_COMM_NULL, peers_comm = MPI_COMM_NULL;
  auto work = std::make_shared<Work>();
  executor_.submit([&, work] {
    watchdog_.begin({.name = "split_by_node"});
    try {
      check_mpi(MPI_Comm_split(comm_, node, rank_, &node_comm), "MPI_Comm_split");
      int local[2] = {0, 1};
      check_mpi(MPI_Comm_rank(node_comm, &local[0]), "MPI_Comm_rank");
      check_mpi(MPI_Comm_size(node_comm, &local[1]), "MPI_Comm_size");
      check_mpi(MPI_Comm_split(comm_, local[0], rank_, &peers_comm), "MPI_Comm_split");
      std::vector<int> every(2 * static_cast<std::size_t>(size_));
      check_mpi(MPI_Allgather(local, 2, MPI_INT, every.data(), 2, MPI_INT, comm_), "MPI_Allgather");
      for (int r = 0; r < size_; ++r) {
        split.local_ranks.push_back(every[2 * r]);
        split.local_sizes.push_back(every[2 * r + 1]);
      }
      watchdog_.end();
      work->mark_completed();
    } catch (...) {
      watchdog_.end();
      work->mark_failed(std::current_exception());
    }
  });
  work->wait();
  split.node = std::make_shared<MpiProcessGroup>(node_comm, name_ + "/node");
  split.peers = std::make_shared<MpiProcessGroup>(peers_comm, name_ + "/peers");
  return split;
}

}  // namespace ddp::comm
