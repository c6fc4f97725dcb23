#include "shared_collectives.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ddp/core/bfloat16.hpp"
#include "ddp/core/error.hpp"

namespace ddp::comm {
namespace {

// Elements reduced at a time: the partial result stays in L1 while every rank's share is added.
constexpr std::int64_t kBlock = 2048;
// An all-reduce share starts on a 64-byte line for every dtype, so no two ranks write one line.
constexpr std::int64_t kShareAlignment = 16;

// Where the result of a reduction goes: every rank's buffer, or only this rank's.
enum class Targets { every_rank, own };

template <typename T>
std::vector<T*> elements_of(const SharedBuffers& buffers, std::int64_t offset_bytes) {
  std::vector<T*> data(static_cast<std::size_t>(buffers.size()));
  for (int r = 0; r < buffers.size(); ++r) {
    data[r] = reinterpret_cast<T*>(static_cast<char*>(buffers.buffer(r)) + offset_bytes);
  }
  return data;
}

template <typename T, typename Combine, typename Finish>
void reduce_range(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                  std::int64_t end, Targets targets, Combine combine, Finish finish) {
  const std::vector<T*> data = elements_of<T>(buffers, offset_bytes);
  std::vector<T*> written = data;
  if (targets == Targets::own) written = {data[static_cast<std::size_t>(buffers.rank())]};
  T partial[kBlock];
  for (std::int64_t start = begin; start < end; start += kBlock) {
    const std::int64_t length = std::min(kBlock, end - start);
    std::memcpy(partial, data[0] + start, static_cast<std::size_t>(length) * sizeof(T));
    for (std::size_t r = 1; r < data.size(); ++r) {
      const T* source = data[r] + start;
      for (std::int64_t i = 0; i < length; ++i) partial[i] = combine(partial[i], source[i]);
    }
    for (std::int64_t i = 0; i < length; ++i) partial[i] = finish(partial[i]);
    for (T* target : written) {
      std::memcpy(target + start, partial, static_cast<std::size_t>(length) * sizeof(T));
    }
  }
}

template <typename T>
void reduce_range(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                  std::int64_t end, Targets targets, ReduceOp op) {
  auto same = [](T value) { return value; };
  auto sum = [](T a, T b) { return a + b; };
  switch (op) {
    case ReduceOp::sum:
      return reduce_range<T>(buffers, offset_bytes, begin, end, targets, sum, same);
    case ReduceOp::avg: {
      const T ranks = static_cast<T>(buffers.size());
      return reduce_range<T>(buffers, offset_bytes, begin, end, targets, sum,
                             [ranks](T value) { return value / ranks; });
    }
    case ReduceOp::min:
      return reduce_range<T>(
          buffers, offset_bytes, begin, end, targets, [](T a, T b) { return std::min(a, b); },
          same);
    case ReduceOp::max:
      return reduce_range<T>(
          buffers, offset_bytes, begin, end, targets, [](T a, T b) { return std::max(a, b); },
          same);
  }
}

// As the MPI backend's bf16 sum: each addition in float32, rounded back to bf16.
void sum_bfloat16_range(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                        std::int64_t end, Targets targets) {
  reduce_range<std::uint16_t>(
      buffers, offset_bytes, begin, end, targets,
      [](std::uint16_t a, std::uint16_t b) {
        return float_to_bfloat16(bfloat16_to_float(a) + bfloat16_to_float(b));
      },
      [](std::uint16_t value) { return value; });
}

void reduce_range(const SharedBuffers& buffers, std::int64_t offset_bytes, std::int64_t begin,
                  std::int64_t end, Targets targets, DType dtype, ReduceOp op) {
  switch (dtype) {
    case DType::float32:
      return reduce_range<float>(buffers, offset_bytes, begin, end, targets, op);
    case DType::float64:
      return reduce_range<double>(buffers, offset_bytes, begin, end, targets, op);
    case DType::int32:
      return reduce_range<std::int32_t>(buffers, offset_bytes, begin, end, targets, op);
    case DType::int64:
      return reduce_range<std::int64_t>(buffers, offset_bytes, begin, end, targets, op);
    case DType::bfloat16:
      return sum_bfloat16_range(buffers, offset_bytes, begin, end, targets);
    default:
      DDP_THROW(Error, "collectives on shared buffers do not take " << to_string(dtype));
  }
}

// Announces this rank's range and waits for every rank; a rank that announced another range is
// an error on every rank.
void enter(SharedBuffers& buffers, std::uint32_t sequence, const char* collective,
           std::int64_t offset_bytes, std::int64_t count) {
  const SharedBuffers::Range mine{offset_bytes, count};
  buffers.arrive_and_wait(SharedBuffers::arrived, sequence, mine);
  for (int r = 0; r < buffers.size(); ++r) {
    SharedBuffers::Range theirs = buffers.range_of(r);
    if (theirs == mine) continue;
    DDP_THROW(CommError, collective << " on shared buffers: rank " << buffers.rank() << " works on "
                                    << count << " elements at byte " << offset_bytes << ", rank "
                                    << r << " on " << theirs.count << " at byte " << theirs.offset
                                    << "; every rank must name the same tensor of its buffer");
  }
}

// No rank may touch its buffer again (the next backward writes gradients there) until every rank
// is done reading and writing it.
void leave(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
           std::int64_t count) {
  buffers.arrive_and_wait(SharedBuffers::finished, sequence, {offset_bytes, count});
}

std::int64_t block_of(const SharedBuffers& buffers, std::int64_t count, const char* collective) {
  DDP_CHECK(count % buffers.size() == 0, collective << " on shared buffers: " << count
                                                    << " elements are not " << buffers.size()
                                                    << " equal blocks");
  return count / buffers.size();
}

}  // namespace

bool shared_reduction_supports(DType dtype, ReduceOp op) {
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
  enter(buffers, sequence, "all_reduce", offset_bytes, count);
  const std::int64_t ranks = buffers.size();
  const std::int64_t share =
      ((count + ranks - 1) / ranks + kShareAlignment - 1) / kShareAlignment * kShareAlignment;
  const std::int64_t begin = std::min(count, buffers.rank() * share);
  const std::int64_t end = std::min(count, begin + share);
  reduce_range(buffers, offset_bytes, begin, end, Targets::every_rank, dtype, op);
  leave(buffers, sequence, offset_bytes, count);
}

void shared_reduce_scatter(SharedBuffers& buffers, std::uint32_t sequence,
                           std::int64_t offset_bytes, std::int64_t count, DType dtype,
                           ReduceOp op) {
  const std::int64_t block = block_of(buffers, count, "reduce_scatter");
  enter(buffers, sequence, "reduce_scatter", offset_bytes, count);
  const std::int64_t begin = buffers.rank() * block;
  reduce_range(buffers, offset_bytes, begin, begin + block, Targets::own, dtype, op);
  leave(buffers, sequence, offset_bytes, count);
}

void shared_all_gather(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype) {
  const std::int64_t block = block_of(buffers, count, "all_gather");
  enter(buffers, sequence, "all_gather", offset_bytes, count);
  const std::size_t block_bytes = static_cast<std::size_t>(block) * dtype_size(dtype);
  char* own = static_cast<char*>(buffers.buffer(buffers.rank())) + offset_bytes;
  for (int r = 0; r < buffers.size(); ++r) {
    if (r == buffers.rank()) continue;
    const char* theirs = static_cast<const char*>(buffers.buffer(r)) + offset_bytes;
    std::memcpy(own + r * block_bytes, theirs + r * block_bytes, block_bytes);
  }
  leave(buffers, sequence, offset_bytes, count);
}

}  // namespace ddp::comm
