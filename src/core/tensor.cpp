#include "ddp/core/tensor.hpp"

#include <cstring>
#include <numeric>

#include "ddp/core/allocator.hpp"

namespace ddp {

std::int64_t numel(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

std::string to_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

Storage::Storage(std::size_t nbytes, Device device)
    : Storage(nbytes, device, allocator_for(device)) {}

Storage::Storage(std::size_t nbytes, Device device, Allocator& allocator)
    : allocator_(&allocator),
      data_(allocator.allocate(nbytes, device)),
      nbytes_(nbytes),
      device_(device) {}

Storage::Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner)
    : owner_(std::move(owner)), data_(data), nbytes_(nbytes), device_(Device::cpu()) {}

Storage::~Storage() {
  if (allocator_ != nullptr) allocator_->deallocate(data_, nbytes_, device_);
}

Tensor::Tensor(std::shared_ptr<Storage> storage, std::size_t offset_bytes, Shape shape, DType dtype)
    : storage_(std::move(storage)),
      offset_bytes_(offset_bytes),
      shape_(std::move(shape)),
      dtype_(dtype) {}

namespace {

std::size_t checked_nbytes(const Shape& shape, DType dtype) {
  for (std::int64_t extent : shape) {
    DDP_CHECK(extent >= 0, "tensor shape " << to_string(shape) << " has a negative dimension");
  }
  return static_cast<std::size_t>(ddp::numel(shape)) * dtype_size(dtype);
}

}  // namespace

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  std::size_t nbytes = checked_nbytes(shape, dtype);
  return Tensor(std::make_shared<Storage>(nbytes, device), 0, std::move(shape), dtype);
}

Tensor Tensor::empty_pinned(Shape shape, DType dtype) {
  std::size_t nbytes = checked_nbytes(shape, dtype);
  return Tensor(std::make_shared<Storage>(nbytes, Device::cpu(), pinned_allocator()), 0,
                std::move(shape), dtype);
}

Tensor Tensor::from_external(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner) {
  std::size_t nbytes = checked_nbytes(shape, dtype);
  DDP_CHECK(data != nullptr || nbytes == 0, "Tensor::from_external got no memory for "
                                                << to_string(shape) << " " << to_string(dtype));
  return Tensor(std::make_shared<Storage>(data, nbytes, std::move(owner)), 0, std::move(shape),
                dtype);
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor tensor = empty(std::move(shape), dtype, device);
  tensor.zero_();
  return tensor;
}

void* Tensor::data_ptr() const {
  if (!storage_ || storage_->data() == nullptr) return nullptr;
  return static_cast<char*>(storage_->data()) + offset_bytes_;
}

Tensor Tensor::view(std::int64_t element_offset, Shape shape) const {
  DDP_CHECK(defined(), "view of an undefined tensor");
  std::int64_t count = ddp::numel(shape);
  DDP_CHECK(element_offset >= 0 && element_offset + count <= numel(),
            "view of " << count << " elements at offset " << element_offset
                       << " does not fit in a tensor of shape " << to_string(shape_));
  std::size_t offset =
      offset_bytes_ + static_cast<std::size_t>(element_offset) * dtype_size(dtype_);
  return Tensor(storage_, offset, std::move(shape), dtype_);
}

Tensor Tensor::rows(std::int64_t begin, std::int64_t end) const {
  DDP_CHECK(ndim() >= 1 && 0 <= begin && begin <= end && end <= size(0),
            "rows [" << begin << ", " << end << ") out of range for shape " << to_string(shape_));
  Shape shape = shape_;
  shape[0] = end - begin;
  std::int64_t row_elements = shape_[0] == 0 ? 0 : numel() / shape_[0];
  return view(begin * row_elements, std::move(shape));
}

Tensor Tensor::clone() const {
  Tensor copy = empty(shape_, dtype_, device());
  copy.copy_(*this);
  return copy;
}

void Tensor::zero_() {
  if (nbytes() == 0) return;
  if (device().is_cpu()) {
    std::memset(data_ptr(), 0, nbytes());
  } else {
    allocator_for(device()).zero(data_ptr(), nbytes(), device());
  }
}

void Tensor::copy_(const Tensor& src) {
  DDP_CHECK(dtype_ == src.dtype_ && numel() == src.numel(),
            "copy_ from " << to_string(src.dtype_) << to_string(src.shape_) << " into "
                          << to_string(dtype_) << to_string(shape_));
  if (nbytes() == 0) return;
  Device dst_device = device();
  Device src_device = src.device();
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    if (data_ptr() != src.data_ptr()) std::memmove(data_ptr(), src.data_ptr(), nbytes());
    return;
  }
  // The device side's allocator knows how to reach the other side (host, or a peer GPU).
  Allocator& allocator = allocator_for(dst_device.is_cpu() ? src_device : dst_device);
  allocator.copy(data_ptr(), dst_device, src.data_ptr(), src_device, nbytes());
}

Tensor Tensor::to(const Device& target) const {
  DDP_CHECK(defined(), "to(" << to_string(target) << ") of an undefined tensor");
  if (device() == target) return *this;
  Tensor moved = empty(shape_, dtype_, target);
  moved.copy_(*this);
  return moved;
}

}  // namespace ddp
