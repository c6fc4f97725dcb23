#include "shared_collectives.hpp"

#include <algorithm>
#include <cstring>
#include <string>
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

enum class Collective { all_reduce, reduce_scatter, all_gather, reduce_shares, gather_shares };

// What a rank does on its range, announced with it: the collective, the dtype and the op (-1:
// none), so that ranks that disagree on any of them fail instead of mixing their bytes.
std::int64_t operation_of(Collective collective, DType dtype, int op) {
  return (static_cast<std::int64_t>(collective) << 16) | (static_cast<std::int64_t>(dtype) << 8) |
         (op + 1);
}

std::string describe_operation(std::int64_t operation) {
  constexpr const char* kNames[] = {"all_reduce", "reduce_scatter", "all_gather", "reduce_shares",
                                    "gather_shares"};
  std::string text = std::string(kNames[operation >> 16]) + " of " +
                     to_string(static_cast<DType>((operation >> 8) & 0xff));
  const int op = static_cast<int>(operation & 0xff) - 1;
  if (op >= 0) text += " (" + to_string(static_cast<ReduceOp>(op)) + ")";
  return text;
}

// Announces this rank's range and operation and waits for every rank; a rank that announced
// another is an error on every rank. Returns what this rank announced, for leave.
SharedBuffers::Range enter(SharedBuffers& buffers, std::uint32_t sequence, Collective collective,
                           DType dtype, int op, std::int64_t offset_bytes, std::int64_t count) {
  const SharedBuffers::Range mine{offset_bytes, count, operation_of(collective, dtype, op)};
  buffers.arrive_and_wait(SharedBuffers::arrived, sequence, mine);
  for (int r = 0; r < buffers.size(); ++r) {
    SharedBuffers::Range theirs = buffers.range_of(r);
    if (theirs == mine) continue;
    DDP_THROW(CommError, "collective on shared buffers: rank "
                             << buffers.rank() << " runs " << describe_operation(mine.operation)
                             << " on " << count << " elements at byte " << offset_bytes << ", rank "
                             << r << " " << describe_operation(theirs.operation) << " on "
                             << theirs.count << " at byte " << theirs.offset
                             << "; every rank must issue the same collective on the same tensor "
                                "of its buffer");
  }
  return mine;
}

// No rank may touch its buffer again (the next backward writes gradients there) until every rank
// is done reading and writing it. It announces the same as enter did: a rank still checking in
// enter may read this one's announcement after it got here.
void leave(SharedBuffers& buffers, std::uint32_t sequence, const SharedBuffers::Range& announced) {
  buffers.arrive_and_wait(SharedBuffers::finished, sequence, announced);
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

Share share_of(std::int64_t count, int ranks, int rank) {
  const std::int64_t share =
      ((count + ranks - 1) / ranks + kShareAlignment - 1) / kShareAlignment * kShareAlignment;
  const std::int64_t begin = std::min(count, rank * share);
  return {begin, std::min(count, begin + share)};
}

void shared_all_reduce(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype, ReduceOp op) {
  const SharedBuffers::Range announced = enter(buffers, sequence, Collective::all_reduce, dtype,
                                               static_cast<int>(op), offset_bytes, count);
  const Share mine = share_of(count, buffers.size(), buffers.rank());
  reduce_range(buffers, offset_bytes, mine.begin, mine.end, Targets::every_rank, dtype, op);
  leave(buffers, sequence, announced);
}

void shared_reduce_shares(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                          std::int64_t count, DType dtype, ReduceOp op) {
  const SharedBuffers::Range announced = enter(buffers, sequence, Collective::reduce_shares, dtype,
                                               static_cast<int>(op), offset_bytes, count);
  const Share mine = share_of(count, buffers.size(), buffers.rank());
  reduce_range(buffers, offset_bytes, mine.begin, mine.end, Targets::own, dtype, op);
  leave(buffers, sequence, announced);
}

void shared_gather_shares(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                          std::int64_t count, DType dtype) {
  const SharedBuffers::Range announced =
      enter(buffers, sequence, Collective::gather_shares, dtype, -1, offset_bytes, count);
  const std::size_t element = dtype_size(dtype);
  char* own = static_cast<char*>(buffers.buffer(buffers.rank())) + offset_bytes;
  for (int r = 0; r < buffers.size(); ++r) {
    const Share theirs = share_of(count, buffers.size(), r);
    if (r == buffers.rank() || theirs.end == theirs.begin) continue;
    const char* source = static_cast<const char*>(buffers.buffer(r)) + offset_bytes;
    std::memcpy(own + theirs.begin * element, source + theirs.begin * element,
                static_cast<std::size_t>(theirs.end - theirs.begin) * element);
  }
  leave(buffers, sequence, announced);
}

void shared_reduce_scatter(SharedBuffers& buffers, std::uint32_t sequence,
                           std::int64_t offset_bytes, std::int64_t count, DType dtype,
                           ReduceOp op) {
  const std::int64_t block = block_of(buffers, count, "reduce_scatter");
  const SharedBuffers::Range announced = enter(buffers, sequence, Collective::reduce_scatter, dtype,
                                               static_cast<int>(op), offset_bytes, count);
  const std::int64_t begin = buffers.rank() * block;
  reduce_range(buffers, offset_bytes, begin, begin + block, Targets::own, dtype, op);
  leave(buffers, sequence, announced);
}

void shared_all_gather(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype) {
  const std::int64_t block = block_of(buffers, count, "all_gather");
  const SharedBuffers::Range announced =
      enter(buffers, sequence, Collective::all_gather, dtype, -1, offset_bytes, count);
  const std::size_t block_bytes = static_cast<std::size_t>(block) * dtype_size(dtype);
  char* own = static_cast<char*>(buffers.buffer(buffers.rank())) + offset_bytes;
  for (int r = 0; r < buffers.size(); ++r) {
    if (r == buffers.rank()) continue;
    const char* theirs = static_cast<const char*>(buffers.buffer(r)) + offset_bytes;
    std::memcpy(own + r * block_bytes, theirs + r * block_bytes, block_bytes);
  }
  leave(buffers, sequence, announced);
}

}  // namespace ddp::comm
