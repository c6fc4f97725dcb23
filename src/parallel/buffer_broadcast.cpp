#include "ddp/parallel/buffer_broadcast.hpp"

#include <algorithm>

namespace ddp::parallel {

BufferBroadcast::BufferBroadcast(nn::Module& module, std::shared_ptr<ProcessGroup> group, int root)
    : group_(std::move(group)), root_(root) {
  DDP_CHECK(group_ != nullptr, "BufferBroadcast needs a process group");
  if (group_->size() == 1) return;
  for (nn::Buffer* buffer : module.buffers()) {
    const DType dtype = buffer->value.dtype();
    auto same = std::find_if(flats_.begin(), flats_.end(),
                             [&](const Flat& f) { return f.flat.dtype() == dtype; });
    if (same == flats_.end()) {
      flats_.push_back({{}, Tensor::empty({0}, dtype, buffer->value.device())});
      same = flats_.end() - 1;
    }
    same->buffers.push_back(buffer);
  }
  for (Flat& f : flats_) {
    std::int64_t total = 0;
    for (const nn::Buffer* buffer : f.buffers) total += buffer->value.numel();
    f.flat = Tensor::empty({total}, f.flat.dtype(), f.flat.device());
  }
}

void BufferBroadcast::run() {
  const bool is_root = group_->rank() == root_;
  // Copies between each buffer and its place in the flat tensor, one way or the other.
  auto each_place = [](Flat& f, auto copy) {
    std::int64_t offset = 0;
    for (nn::Buffer* buffer : f.buffers) {
      Tensor& value = buffer->value;
      copy(value, f.flat.view(offset, value.shape()));
      offset += value.numel();
    }
  };
  std::vector<WorkPtr> works;
  for (Flat& f : flats_) {
    if (is_root) each_place(f, [](const Tensor& value, Tensor place) { place.copy_(value); });
    works.push_back(group_->broadcast_async(f.flat, root_));
  }
  for (std::size_t i = 0; i < flats_.size(); ++i) {
    works[i]->wait();
    if (!is_root) {
      each_place(flats_[i], [](Tensor& value, const Tensor& place) { value.copy_(place); });
    }
  }
}

}  // namespace ddp::parallel
