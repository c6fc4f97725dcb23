// How many threads the compute kernels (OpenBLAS GEMMs) of this process use.
#pragma once

namespace ddp::kernels {

// Sets the GEMM thread count of this process (openblas_set_num_threads); threads must be >= 1.
void set_compute_threads(int threads);
int compute_threads();

// The share of this host's cores one rank should use: DDP_THREADS when set, otherwise the cores
// this process may run on (its binding), at most hardware_concurrency / local_size, and at least
// 1: two ranks on two cores take one each instead of four threads fighting over two cores, and a
// rank bound to one core runs one thread whatever the host has.
int default_compute_threads(int local_size);

}  // namespace ddp::kernels
