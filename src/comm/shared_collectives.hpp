// Collectives in place on SharedBuffers, where every rank reads and writes every rank's buffer
// directly instead of copying through MPI's FIFOs.
// all_reduce: the ranks each reduce one share of the elements, reading that share from every
// rank's buffer and writing the result into every rank's buffer. reduce_scatter: the same, but
// rank r's block is written only into rank r's buffer. all_gather: each rank copies the other
// ranks' blocks out of their buffers into its own. reduce_shares and gather_shares are the
// all-reduce cut in two, for a step between them (the hierarchical all-reduce's exchange across
// nodes). Sums run in rank order, so every rank (and the owner of a block) ends with the same bits
// as the all-reduce would give.
#pragma once

#include <cstdint>

#include "ddp/comm/reduce_op.hpp"
#include "ddp/core/dtype.hpp"
#include "shared_buffers.hpp"

namespace ddp::comm {

// Whether shared_all_reduce and shared_reduce_scatter take this dtype and op (bfloat16: sum only,
// as the MPI backend).
bool shared_reduction_supports(DType dtype, ReduceOp op);

// The elements [begin, end) of count that rank of ranks reduces in an all-reduce: equal shares,
// each starting on a 64-byte line for every dtype (so no two ranks write one line), the last ones
// shorter or empty.
struct Share {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};
Share share_of(std::int64_t count, int ranks, int rank);

// Each collective works on the count elements at offset_bytes of every rank's buffer. sequence
// numbers the collectives on these buffers (the same on every rank). A rank that announces
// another range is a CommError on every rank, naming both.

void shared_all_reduce(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype, ReduceOp op);
// count is size() blocks of count / size() elements; block r is reduced into rank r's buffer.
void shared_reduce_scatter(SharedBuffers& buffers, std::uint32_t sequence,
                           std::int64_t offset_bytes, std::int64_t count, DType dtype, ReduceOp op);
// The all-reduce's first half: this rank's share (share_of) reduced into its own buffer only.
void shared_reduce_shares(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                          std::int64_t count, DType dtype, ReduceOp op);
// The second half: every other rank's share copied from its buffer into this rank's.
void shared_gather_shares(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                          std::int64_t count, DType dtype);
// count is size() blocks of count / size() elements; block r is taken from rank r's buffer.
void shared_all_gather(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype);

}  // namespace ddp::comm
