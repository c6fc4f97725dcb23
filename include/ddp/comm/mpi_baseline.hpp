// Raw MPI_Allreduce on the calling thread: the baseline ddp-bench measures the process group
// against.
#pragma once

#include "ddp/core/tensor.hpp"

namespace ddp::mpi_baseline {

// Runs `iterations` in-place MPI_Allreduce(SUM) of tensor over all ranks, back to back.
void all_reduce_loop(const Tensor& tensor, int iterations);

}  // namespace ddp::mpi_baseline
