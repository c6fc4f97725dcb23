// The checks every backend makes before it issues a collective: the roots, counts, shapes and
// dtypes its arguments must agree on. Each throws ddp::Error naming the collective; none looks at
// devices or at what one backend cannot carry (MPI's int counts, say).
#pragma once

#include <cstdint>

#include "ddp/comm/process_group.hpp"

namespace ddp::comm {

void check_root(int root, int size, const char* collective);

// Same dtype on both sides; avg only for floating point.
void check_reduction(const Tensor& input, const Tensor& output, ReduceOp op,
                     const char* collective);

// One count per rank of a group of size; returns their total.
std::int64_t check_counts(const Counts& counts, int size, const char* collective);

// The arguments of each collective of ProcessGroup, on rank of a group of size. The v-collectives
// return the total of counts.
void check_all_reduce(const Tensor& input, const Tensor& output, ReduceOp op);
void check_all_gather(const Tensor& input, const Tensor& output, int size);
std::int64_t check_all_gatherv(const Tensor& input, const Tensor& output, const Counts& counts,
                               int rank, int size);
std::int64_t check_gatherv(const Tensor& input, const Tensor& output, const Counts& counts,
                           int root, int rank, int size);
std::int64_t check_scatterv(const Tensor& input, const Tensor& output, const Counts& counts,
                            int root, int rank, int size);
void check_reduce_scatter(const Tensor& input, const Tensor& output, ReduceOp op, int size);

}  // namespace ddp::comm
