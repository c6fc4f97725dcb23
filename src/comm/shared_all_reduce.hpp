// All-reduce in place on SharedBuffers: the ranks of one node each reduce one share of the
// elements, reading that share from every rank's buffer and writing the result into every rank's
// buffer. Each rank reads and writes its share once per rank, against MPI's copies through its
// own FIFOs; every rank ends with the same bits, summed in rank order.
#pragma once

#include <cstdint>

#include "ddp/comm/reduce_op.hpp"
#include "ddp/core/dtype.hpp"
#include "shared_buffers.hpp"

namespace ddp::comm {

// Whether shared_all_reduce takes this dtype and op (bfloat16: sum only, as the MPI backend).
bool shared_all_reduce_supports(DType dtype, ReduceOp op);

// Reduces count elements at offset_bytes into every rank's buffer. sequence numbers the
// collectives on these buffers (the same on every rank). A rank that announces another range is
// a CommError on every rank, naming both.
void shared_all_reduce(SharedBuffers& buffers, std::uint32_t sequence, std::int64_t offset_bytes,
                       std::int64_t count, DType dtype, ReduceOp op);

}  // namespace ddp::comm
