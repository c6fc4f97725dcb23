// Tensor: a shape and a dtype over contiguous row-major storage that views share by reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddp/core/device.hpp"
#include "ddp/core/dtype.hpp"
#include "ddp/core/error.hpp"

namespace ddp {

using Shape = std::vector<std::int64_t>;

std::int64_t numel(const Shape& shape);
// "[8, 5]", as the tutorial prints sizes.
std::string to_string(const Shape& shape);

// One allocation; tensors and their views hold it by shared_ptr, so it lives while any view does.
class Allocator;

class Storage {
 public:
  Storage(std::size_t nbytes, Device device);
  // From a given allocator of device's memory (pinned host memory, say), which also frees it.
  Storage(std::size_t nbytes, Device device, Allocator& allocator);
  // Host memory that someone else allocated; owner keeps it alive and frees it when released.
  Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }

 private:
  Allocator* allocator_ = nullptr;  // null for memory that owner_ holds
  std::shared_ptr<void> owner_;
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage, defined() is false

  static Tensor empty(Shape shape, DType dtype = DType::float32, Device device = Device::cpu());
  static Tensor zeros(Shape shape, DType dtype = DType::float32, Device device = Device::cpu());
  // A CPU tensor in page-locked memory (see pinned_allocator): copies to and from a GPU skip the
  // staging buffers. Plain host memory in a build without CUDA or on a machine without a GPU.
  // A copy from it to a GPU runs on the device's copy stream, after the call returns: let the
  // tensor go rather than write to it again (its memory is reused only after the copy).
  static Tensor empty_pinned(Shape shape, DType dtype = DType::float32);
  // A CPU tensor over host memory held by owner (a shared-memory mapping, say): the tensor and its
  // views keep owner alive; data must hold numel(shape) elements of dtype.
  static Tensor from_external(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner);
  // A CPU tensor holding a copy of values; numel(shape) must equal values.size().
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  std::int64_t size(std::size_t dim) const { return shape_.at(dim); }
  std::size_t ndim() const { return shape_.size(); }
  std::int64_t numel() const { return ddp::numel(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }

  void* data_ptr() const;
  template <typename T>
  T* data() const {
    DDP_CHECK(dtype_ == dtype_of<T>(),
              "tensor holds " << to_string(dtype_) << ", asked for " << to_string(dtype_of<T>()));
    return static_cast<T*>(data_ptr());
  }

  // A view of numel(shape) elements starting element_offset elements into this tensor.
  Tensor view(std::int64_t element_offset, Shape shape) const;
  Tensor reshape(Shape shape) const { return view(0, std::move(shape)); }
  // Rows [begin, end) along dimension 0, sharing storage.
  Tensor rows(std::int64_t begin, std::int64_t end) const;
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

  Tensor clone() const;
  void zero_();
  // Copies src's elements into this tensor: same dtype and element count (shapes may differ). The
  // two may live on different devices; host memory is done with when copy_ returns (see
  // Allocator::copy for device memory).
  void copy_(const Tensor& src);
  // This tensor on device: itself (sharing storage) when it is already there, else a copy.
  Tensor to(const Device& device) const;

  // The elements, read back to the host first when the tensor lives on a GPU.
  template <typename T>
  std::vector<T> to_vector() const {
    if (!device().is_cpu()) return to(Device::cpu()).to_vector<T>();
    const T* begin = data<T>();
    return std::vector<T>(begin, begin + numel());
  }

 private:
  Tensor(std::shared_ptr<Storage> storage, std::size_t offset_bytes, Shape shape, DType dtype);

  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::float32;
};

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape) {
  DDP_CHECK(ddp::numel(shape) == static_cast<std::int64_t>(values.size()),
            "from_vector: " << values.size() << " values do not fill shape " << to_string(shape));
  Tensor tensor = empty(std::move(shape), dtype_of<T>());
  std::copy(values.begin(), values.end(), tensor.data<T>());
  return tensor;
}

}  // namespace ddp
