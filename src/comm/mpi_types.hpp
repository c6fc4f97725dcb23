// The MPI side of ddp's vocabulary: error codes as readable CommErrors, DTypes and ReduceOps as
// MPI handles.
#pragma once

#include <mpi.h>

#include <cstdint>

#include "ddp/comm/reduce_op.hpp"
#include "ddp/core/dtype.hpp"

namespace ddp::comm {

// Throws CommError "MPI_Allreduce failed: <MPI's own text>" unless code is MPI_SUCCESS.
void check_mpi(int code, const char* call);

// bfloat16 travels as 2-byte words (MPI has no bf16 type); only its sum is defined, by mpi_op.
MPI_Datatype mpi_datatype(DType dtype);
// avg is reduced as a sum and divided afterwards: MPI has no average. bfloat16 sums use an op of
// ours that adds in float32 and rounds back to nearest even; bf16 min, max and avg are an Error.
MPI_Op mpi_op(ReduceOp op, DType dtype);

// MPI counts are int: a larger count is an Error naming the collective.
int mpi_count(std::int64_t count, const char* collective);

}  // namespace ddp::comm
