#include "shared_all_reduce.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ddp/core/bfloat16.hpp"
#include "ddp/core/error.hpp"

namespace ddp::comm {
namespace {

// Elements reduced at a time: the partial result stays in L1 while every rank's share is added.
constexpr std::int64_t kBlock = 2048;
// A rank's share starts on a 64-byte line for every dtype, so no two ranks write one cache line.
constexpr std::int64_t kShareAlignment = 16;

template <typename T, typename Combine, typename Finish>
void reduce_share(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                  std::int64_t end, Combine combine, Finish finish) {
  std::vector<T*> data(static_cast<std::size_t>(buffers.size()));
  for (int r = 0; r < buffers.size(); ++r) {
    data[r] = reinterpret_cast<T*>(static_cast<char*>(buffers.buffer(r)) + offset_bytes);
  }
  T partial[kBlock];
  for (std::int64_t start = begin; start < end; start += kBlock) {
    const std::int64_t length = std::min(kBlock, end - start);
    std::memcpy(partial, data[0] + start, static_cast<std::size_t>(length) * sizeof(T));
    for (std::size_t r = 1; r < data.size(); ++r) {
      const T* source = data[r] + start;
      for (std::int64_t i = 0; i < length; ++i) partial[i] = combine(partial[i], source[i]);
    }
    for (std::int64_t i = 0; i < length; ++i) partial[i] = finish(partial[i]);
    for (T* target : data) {
      std::memcpy(target + start, partial, static_cast<std::size_t>(length) * sizeof(T));
    }
  }
}

template <typename T>
void reduce_share(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                  std::int64_t end, ReduceOp op) {
  auto same = [](T value) { return value; };
  auto sum = [](T a, T b) { return a + b; };
  switch (op) {
    case ReduceOp::sum:
      return reduce_share<T>(buffers, offset_bytes, begin, end, sum, same);
    case ReduceOp::avg: {
      const T ranks = static_cast<T>(buffers.size());
      return reduce_share<T>(buffers, offset_bytes, begin, end, sum,
                             [ranks](T value) { return value / ranks; });
    }
    case ReduceOp::min:
      return reduce_share<T>(
          buffers, offset_bytes, begin, end, [](T a, T b) { return std::min(a, b); }, same);
    case ReduceOp::max:
      return reduce_share<T>(
          buffers, offset_bytes, begin, end, [](T a, T b) { return std::max(a, b); }, same);
  }
}

// As the MPI backend's bf16 sum: each addition in float32, rounded back to bf16.
void sum_bfloat16_share(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                        std::int64_t end) {
  reduce_share<std::uint16_t>(
      buffers, offset_bytes, begin, end,
      [](std::uint16_t a, std::uint16_t b) {
        return float_to_bfloat16(bfloat16_to_float(a) + bfloat16_to_float(b));
      },
      [](std::uint16_t value) { return value; });
}

}  // namespace

bool shared_all_reduce_supports(DType dtype, ReduceOp op) {
  switch (dtype) {
    case DType::float32:
    case DType::float64:
      return true;
    case DType::int32:
    case DType::int64:
      return op != ReduceOp::avg;
    case DType::bfloat16:
      return op == ReduceOp::sum;
    default:
      return false;
  }
}

void shared_all_reduce(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype, ReduceOp op) {
  const SharedBuffers::Range mine{offset_bytes, count};
  buffers.arrive_and_wait(SharedBuffers::arrived, sequence, mine);
  for (int r = 0; r < buffers.size(); ++r) {
    SharedBuffers::Range theirs = buffers.range_of(r);
    if (theirs == mine) continue;
    DDP_THROW(CommError, "all_reduce on shared buffers: rank "
                             << buffers.rank() << " reduces " << count << " elements at byte "
                             << offset_bytes << ", rank " << r << " " << theirs.count << " at byte "
                             << theirs.offset
                             << "; every rank must reduce the same "
                                "tensor of its buffer");
  }
  const std::int64_t ranks = buffers.size();
  const std::int64_t share =
      ((count + ranks - 1) / ranks + kShareAlignment - 1) / kShareAlignment * kShareAlignment;
  const std::int64_t begin = std::min(count, buffers.rank() * share);
  const std::int64_t end = std::min(count, begin + share);
  switch (dtype) {
    case DType::float32:
      reduce_share<float>(buffers, offset_bytes, begin, end, op);
      break;
    case DType::float64:
      reduce_share<double>(buffers, offset_bytes, begin, end, op);
      break;
    case DType::int32:
      reduce_share<std::int32_t>(buffers, offset_bytes, begin, end, op);
      break;
    case DType::int64:
      reduce_share<std::int64_t>(buffers, offset_bytes, begin, end, op);
      break;
    case DType::bfloat16:
      sum_bfloat16_share(buffers, offset_bytes, begin, end);
      break;
    default:
      DDP_THROW(Error, "all_reduce on shared buffers does not take " << to_string(dtype));
  }
  // No rank may touch its buffer again (the next backward writes gradients there) until every
  // rank has written its share into it.
  buffers.arrive_and_wait(SharedBuffers::finished, sequence, mine);
}

}  // namespace ddp::comm
