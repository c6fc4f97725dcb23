#include "mpi_process_group.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <numeric>
#include <sstream>
#include <vector>

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

template <typename T>
void divide(T* data, std::int64_t count, int divisor) {
  for (std::int64_t i = 0; i < count; ++i) data[i] /= static_cast<T>(divisor);
}

void divide_by(const Tensor& tensor, int divisor) {
  if (tensor.dtype() == DType::float32)
    return divide(tensor.data<float>(), tensor.numel(), divisor);
  divide(tensor.data<double>(), tensor.numel(), divisor);
}

void check_host(const Tensor& tensor, const char* collective) {
  DDP_CHECK(!tensor.defined() || tensor.device().is_cpu(),
            collective << " on the MPI backend needs host tensors, got one on "
                       << to_string(tensor.device()));
}

void check_reduction(const Tensor& input, const Tensor& output, ReduceOp op,
                     const char* collective) {
  DDP_CHECK(input.dtype() == output.dtype(), collective << ": input is " << to_string(input.dtype())
                                                        << ", output "
                                                        << to_string(output.dtype()));
  DDP_CHECK(
      op != ReduceOp::avg || is_floating(input.dtype()),
      collective << " with avg needs a floating-point tensor, got " << to_string(input.dtype()));
  mpi_datatype(input.dtype());
  mpi_op(op, input.dtype());
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

void MpiProcessGroup::check_root(int root, const char* collective) const {
  DDP_CHECK(0 <= root && root < size_,
            collective << ": root " << root << " is not a rank of a group of " << size_);
}

MpiProcessGroup::RankCounts MpiProcessGroup::check_counts(const Counts& counts,
                                                          const char* collective) const {
  DDP_CHECK(counts.size() == static_cast<std::size_t>(size_),
            collective << ": " << counts.size() << " counts for a group of " << size_);
  RankCounts checked;
  for (std::int64_t count : counts) {
    checked.sizes.push_back(mpi_count(count, collective));
    checked.total += count;
  }
  mpi_count(checked.total, collective);
  return checked;
}

WorkPtr MpiProcessGroup::all_reduce_async(Tensor input, Tensor output, ReduceOp op) {
  check_host(input, "all_reduce");
  check_host(output, "all_reduce");
  check_reduction(input, output, op, "all_reduce");
  DDP_CHECK(input.numel() == output.numel(),
            "all_reduce: input has " << input.numel() << " elements, output " << output.numel());
  CollectiveInfo info{"all_reduce", 0, input.dtype(), input.numel(), -1, static_cast<int>(op)};
  return enqueue(info, [this, input, output, op] {
    bool in_place = input.data_ptr() == output.data_ptr();
    for_each_chunk(output.numel(), [&](std::int64_t offset, int count) {
      const void* send = in_place ? MPI_IN_PLACE : element(input, offset);
      check_mpi(MPI_Allreduce(send, element(output, offset), count, mpi_datatype(output.dtype()),
                              mpi_op(op, output.dtype()), comm_),
                "MPI_Allreduce");
    });
    if (op == ReduceOp::avg) divide_by(output, size_);
  });
}

WorkPtr MpiProcessGroup::broadcast_async(Tensor tensor, int root) {
  check_host(tensor, "broadcast");
  check_root(root, "broadcast");
  mpi_datatype(tensor.dtype());
  CollectiveInfo info{"broadcast", 0, tensor.dtype(), tensor.numel(), root, -1};
  return enqueue(info, [this, tensor, root] {
    for_each_chunk(tensor.numel(), [&](std::int64_t offset, int count) {
      check_mpi(
          MPI_Bcast(element(tensor, offset), count, mpi_datatype(tensor.dtype()), root, comm_),
          "MPI_Bcast");
    });
  });
}

WorkPtr MpiProcessGroup::all_gather_async(Tensor input, Tensor output) {
  check_host(input, "all_gather");
  check_host(output, "all_gather");
  DDP_CHECK(input.dtype() == output.dtype() && output.numel() == input.numel() * size_,
            "all_gather: output must hold " << size_ << " x " << input.numel() << " "
                                            << to_string(input.dtype()) << " elements, has "
                                            << output.numel() << " " << to_string(output.dtype()));
  int count = mpi_count(input.numel(), "all_gather");
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"all_gather", 0, input.dtype(), input.numel(), -1, -1};
  return enqueue(info, [this, input, output, count, type] {
    bool in_place = input.data_ptr() == element(output, std::int64_t{rank_} * count);
    const void* send = in_place ? MPI_IN_PLACE : input.data_ptr();
    check_mpi(MPI_Allgather(send, count, type, output.data_ptr(), count, type, comm_),
              "MPI_Allgather");
  });
}

WorkPtr MpiProcessGroup::all_gatherv_async(Tensor input, Tensor output, Counts counts) {
  check_host(input, "all_gatherv");
  check_host(output, "all_gatherv");
  auto [sizes, total] = check_counts(counts, "all_gatherv");
  DDP_CHECK(
      input.numel() == counts[rank_] && output.numel() == total && input.dtype() == output.dtype(),
      "all_gatherv: rank " << rank_ << " sends " << input.numel() << " elements for count "
                           << counts[rank_] << " into an output of " << output.numel()
                           << " for a total of " << total);
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"all_gatherv", 0, input.dtype(), total, -1, -1};
  return enqueue(info, [this, input, output, sizes, type] {
    std::vector<int> displs = displacements(sizes);
    bool in_place = input.data_ptr() == element(output, displs[rank_]) && sizes[rank_] > 0;
    const void* send = in_place ? MPI_IN_PLACE : input.data_ptr();
    check_mpi(MPI_Allgatherv(send, sizes[rank_], type, output.data_ptr(), sizes.data(),
                             displs.data(), type, comm_),
              "MPI_Allgatherv");
  });
}

WorkPtr MpiProcessGroup::gatherv_async(Tensor input, Tensor output, Counts counts, int root) {
  check_host(input, "gatherv");
  check_host(output, "gatherv");
  check_root(root, "gatherv");
  auto [sizes, total] = check_counts(counts, "gatherv");
  DDP_CHECK(input.numel() == counts[rank_], "gatherv: rank " << rank_ << " sends " << input.numel()
                                                             << " elements for count "
                                                             << counts[rank_]);
  DDP_CHECK(rank_ != root || (output.numel() == total && output.dtype() == input.dtype()),
            "gatherv: the root's output must hold " << total << " " << to_string(input.dtype())
                                                    << " elements, has " << output.numel());
  MPI_Datatype type = mpi_datatype(input.dtype());
  CollectiveInfo info{"gatherv", 0, input.dtype(), total, root, -1};
  return enqueue(info, [this, input, output, sizes, type, root] {
    std::vector<int> displs = displacements(sizes);
    bool in_place =
        rank_ == root && sizes[rank_] > 0 && input.data_ptr() == element(output, displs[rank_]);
    const void* send = in_place ? MPI_IN_PLACE : input.data_ptr();
    void* receive = rank_ == root ? output.data_ptr() : nullptr;
    check_mpi(MPI_Gatherv(send, sizes[rank_], type, receive, sizes.data(), displs.data(), type,
                          root, comm_),
              "MPI_Gatherv");
  });
}

WorkPtr MpiProcessGroup::scatterv_async(Tensor input, Tensor output, Counts counts, int root) {
  check_host(input, "scatterv");
  check_host(output, "scatterv");
  check_root(root, "scatterv");
  auto [sizes, total] = check_counts(counts, "scatterv");
  DDP_CHECK(output.numel() == counts[rank_], "scatterv: rank "
                                                 << rank_ << " receives into " << output.numel()
                                                 << " elements for count " << counts[rank_]);
  DDP_CHECK(rank_ != root || (input.numel() == total && output.dtype() == input.dtype()),
            "scatterv: the root's input must hold " << total << " " << to_string(output.dtype())
                                                    << " elements, has " << input.numel());
  MPI_Datatype type = mpi_datatype(output.dtype());
  CollectiveInfo info{"scatterv", 0, output.dtype(), total, root, -1};
  return enqueue(info, [this, input, output, sizes, type, root] {
    std::vector<int> displs = displacements(sizes);
    bool in_place =
        rank_ == root && sizes[rank_] > 0 && output.data_ptr() == element(input, displs[rank_]);
    const void* send = rank_ == root ? input.data_ptr() : nullptr;
    void* receive = in_place ? MPI_IN_PLACE : output.data_ptr();
    check_mpi(MPI_Scatterv(send, sizes.data(), displs.data(), type, receive, sizes[rank_], type,
                           root, comm_),
              "MPI_Scatterv");
  });
}

WorkPtr MpiProcessGroup::reduce_scatter_async(Tensor input, Tensor output, ReduceOp op) {
  check_host(input, "reduce_scatter");
  check_host(output, "reduce_scatter");
  check_reduction(input, output, op, "reduce_scatter");
  DDP_CHECK(input.numel() == output.numel() * size_, "reduce_scatter: input must hold "
                                                         << size_ << " x " << output.numel()
                                                         << " elements, has " << input.numel());
  int count = mpi_count(output.numel(), "reduce_scatter");
  CollectiveInfo info{"reduce_scatter", 0,  output.dtype(),
                      output.numel(),   -1, static_cast<int>(op)};
  return enqueue(info, [this, input, output, op, count] {
    check_mpi(
        MPI_Reduce_scatter_block(input.data_ptr(), output.data_ptr(), count,
                                 mpi_datatype(output.dtype()), mpi_op(op, output.dtype()), comm_),
        "MPI_Reduce_scatter_block");
    if (op == ReduceOp::avg) divide_by(output, size_);
  });
}

WorkPtr MpiProcessGroup::barrier_async() {
  CollectiveInfo info{"barrier", 0, DType::int32, 0, -1, -1};
  return enqueue(info, [this] { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); });
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

}  // namespace ddp::comm
