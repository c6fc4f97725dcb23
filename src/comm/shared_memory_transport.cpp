#include "shared_memory_transport.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "ddp/core/log.hpp"

namespace ddp::comm {
namespace {

// What rank 0 tells the others: the name of the object it made, or that it could not.
struct SharedName {
  char name[60] = {};
  std::int32_t created = 0;
};
static_assert(sizeof(SharedName) % sizeof(std::int32_t) == 0);

// The minimum of value over the ranks of group: 1 when every rank says 1.
std::int32_t all_agree(ProcessGroup& group, std::int32_t value) {
  Tensor t = Tensor::from_vector(std::vector<std::int32_t>{value}, {1});
  group.all_reduce(t, ReduceOp::min);
  return t.data<std::int32_t>()[0];
}

}  // namespace

SharedMemoryTransport::SharedMemoryTransport(std::shared_ptr<ProcessGroup> node,
                                             SharedMemoryOptions options)
    : node_(std::move(node)), options_(std::move(options)) {}

bool SharedMemoryTransport::supports(DType dtype, ReduceOp op) {
  return shared_reduction_supports(dtype, op);
}

Tensor SharedMemoryTransport::collective_buffer(const Shape& shape, DType dtype) {
  const auto bytes = static_cast<std::size_t>(numel(shape)) * dtype_size(dtype);
  if (size() == 1 || bytes == 0) return {};
  std::shared_ptr<SharedBuffers> buffers = map(bytes, SharedBuffers::Layout::per_rank);
  if (!buffers) return {};
  {
    std::lock_guard lock(mutex_);
    std::erase_if(collective_buffers_, [](const auto& weak) { return weak.expired(); });
    collective_buffers_.push_back(buffers);
  }
  void* data = buffers->buffer(rank());  // a new mapping reads as zeros
  return Tensor::from_external(data, shape, dtype, std::move(buffers));
}

Tensor SharedMemoryTransport::node_shared_tensor(const Shape& shape, DType dtype) {
  const auto bytes = static_cast<std::size_t>(numel(shape)) * dtype_size(dtype);
  if (size() == 1 || bytes == 0) return {};
  std::shared_ptr<SharedBuffers> buffers = map(bytes, SharedBuffers::Layout::common);
  if (!buffers) return {};
  // Not among collective_buffers_: a collective on this tensor is an ordinary one.
  void* data = buffers->buffer(rank());
  return Tensor::from_external(data, shape, dtype, std::move(buffers));
}

std::shared_ptr<SharedBuffers> SharedMemoryTransport::buffers_of(const Tensor& tensor) const {
  std::lock_guard lock(mutex_);
  for (const auto& weak : collective_buffers_) {
    auto buffers = weak.lock();
    if (buffers && buffers->holds(tensor.data_ptr(), tensor.nbytes())) return buffers;
  }
  return nullptr;
}

bool SharedMemoryTransport::holds(const Tensor& tensor) const {
  return tensor.defined() && tensor.device().is_cpu() && buffers_of(tensor) != nullptr;
}

std::int64_t SharedMemoryTransport::offset_of(const SharedBuffers& buffers,
                                              const Tensor& tensor) const {
  return static_cast<char*>(tensor.data_ptr()) - static_cast<char*>(buffers.buffer(rank()));
}

void SharedMemoryTransport::all_reduce(const Tensor& tensor, ReduceOp op) {
  auto buffers = buffers_of(tensor);
  shared_all_reduce(*buffers, ++sequence_, offset_of(*buffers, tensor), tensor.numel(),
                    tensor.dtype(), op);
}

void SharedMemoryTransport::reduce_scatter(const Tensor& tensor, ReduceOp op) {
  auto buffers = buffers_of(tensor);
  shared_reduce_scatter(*buffers, ++sequence_, offset_of(*buffers, tensor), tensor.numel(),
                        tensor.dtype(), op);
}

void SharedMemoryTransport::all_gather(const Tensor& tensor) {
  auto buffers = buffers_of(tensor);
  shared_all_gather(*buffers, ++sequence_, offset_of(*buffers, tensor), tensor.numel(),
                    tensor.dtype());
}

void SharedMemoryTransport::reduce_shares(const Tensor& tensor, ReduceOp op) {
  auto buffers = buffers_of(tensor);
  shared_reduce_shares(*buffers, ++sequence_, offset_of(*buffers, tensor), tensor.numel(),
                       tensor.dtype(), op);
}

void SharedMemoryTransport::gather_shares(const Tensor& tensor) {
  auto buffers = buffers_of(tensor);
  shared_gather_shares(*buffers, ++sequence_, offset_of(*buffers, tensor), tensor.numel(),
                       tensor.dtype());
}

bool SharedMemoryTransport::prepare_barrier() {
  if (!barrier_prepared_ && size() > 1) {
    barrier_counters_ = map(0, SharedBuffers::Layout::per_rank);
  }
  barrier_prepared_ = true;
  return barrier_counters_ != nullptr;
}

void SharedMemoryTransport::barrier() {
  barrier_counters_->arrive_and_wait(SharedBuffers::arrived, ++sequence_, {});
}

std::shared_ptr<SharedBuffers> SharedMemoryTransport::map(std::size_t bytes,
                                                          SharedBuffers::Layout layout) {
  // Every step is agreed by all ranks, so that they all end on the same path whatever fails where.
  SharedName shared;
  std::shared_ptr<SharedBuffers> buffers;
  std::string why;
  const int rank = this->rank(), size = this->size();
  if (rank == 0 && options_.enabled) {
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    std::snprintf(shared.name, sizeof(shared.name), "/ddp-%d-%d-%lld", static_cast<int>(getpid()),
                  mappings_++, static_cast<long long>(stamp % 1'000'000'000));
    try {
      buffers = std::make_shared<SharedBuffers>(shared.name, true, rank, size, bytes, layout);
      shared.created = 1;
    } catch (const Error& error) {
      why = error.what();
    }
  }
  Tensor message = Tensor::zeros({sizeof(SharedName) / sizeof(std::int32_t)}, DType::int32);
  std::memcpy(message.data_ptr(), &shared, sizeof(shared));
  node_->broadcast(message, 0);
  std::memcpy(&shared, message.data_ptr(), sizeof(shared));
  if (shared.created && rank != 0 && options_.enabled) {
    try {
      buffers = std::make_shared<SharedBuffers>(shared.name, false, rank, size, bytes, layout);
    } catch (const Error& error) {
      why = error.what();
    }
  }
  const bool everyone = all_agree(*node_, buffers ? 1 : 0) == 1;
  // Every rank has opened it (or given up): the name can go, the mappings stay.
  if (rank == 0 && shared.created) SharedBuffers::remove_name(shared.name);
  if (everyone) return buffers;
  if (!why.empty()) {
    DDP_WARN("group " << options_.name
                      << (layout == SharedBuffers::Layout::common
                              ? ": no tensor in shared memory, each rank keeps its own copy: "
                              : ": collectives through shared memory are off, MPI does them: ")
                      << why << " (/dev/shm too small? DDP_SHARED_MEMORY=0 silences this)");
  }
  return nullptr;
}

}  // namespace ddp::comm
