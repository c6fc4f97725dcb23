#include "ddp/comm/process_group.hpp"

namespace ddp {

Tensor ProcessGroup::collective_buffer(Shape shape, DType dtype) {
  return Tensor::zeros(std::move(shape), dtype);
}

Tensor ProcessGroup::node_shared_tensor(Shape shape, DType dtype) {
  // One rank, or no elements: any memory is shared trivially.
  if (size() == 1 || numel(shape) == 0) return Tensor::zeros(std::move(shape), dtype);
  return {};
}

WorkPtr ProcessGroup::all_reduce_async(Tensor tensor, ReduceOp op) {
  return all_reduce_async(tensor, tensor, op);
}

WorkPtr ProcessGroup::gather_async(Tensor input, Tensor output, int root) {
  return gatherv_async(input, std::move(output), Counts(size(), input.numel()), root);
}

WorkPtr ProcessGroup::scatter_async(Tensor input, Tensor output, int root) {
  std::int64_t block = output.numel();
  return scatterv_async(std::move(input), std::move(output), Counts(size(), block), root);
}

void ProcessGroup::all_reduce(Tensor tensor, ReduceOp op) {
  all_reduce_async(tensor, op)->wait();
}

void ProcessGroup::all_reduce(Tensor input, Tensor output, ReduceOp op) {
  all_reduce_async(std::move(input), std::move(output), op)->wait();
}

void ProcessGroup::broadcast(Tensor tensor, int root) {
  broadcast_async(std::move(tensor), root)->wait();
}

void ProcessGroup::all_gather(Tensor input, Tensor output) {
  all_gather_async(std::move(input), std::move(output))->wait();
}

void ProcessGroup::all_gatherv(Tensor input, Tensor output, Counts counts) {
  all_gatherv_async(std::move(input), std::move(output), std::move(counts))->wait();
}

void ProcessGroup::gather(Tensor input, Tensor output, int root) {
  gather_async(std::move(input), std::move(output), root)->wait();
}

void ProcessGroup::gatherv(Tensor input, Tensor output, Counts counts, int root) {
  gatherv_async(std::move(input), std::move(output), std::move(counts), root)->wait();
}

void ProcessGroup::scatter(Tensor input, Tensor output, int root) {
  scatter_async(std::move(input), std::move(output), root)->wait();
}

void ProcessGroup::scatterv(Tensor input, Tensor output, Counts counts, int root) {
  scatterv_async(std::move(input), std::move(output), std::move(counts), root)->wait();
}

void ProcessGroup::reduce_scatter(Tensor input, Tensor output, ReduceOp op) {
  reduce_scatter_async(std::move(input), std::move(output), op)->wait();
}

void ProcessGroup::barrier() {
  barrier_async()->wait();
}

}  // namespace ddp
