#include "ddp/kernels/threads.hpp"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <thread>

#include "ddp/core/env.hpp"
#include "ddp/core/error.hpp"

namespace ddp::kernels {

void set_compute_threads(int threads) {
  DDP_CHECK_OPTION(threads >= 1, "compute threads", std::to_string(threads), "must be at least 1");
  openblas_set_num_threads(threads);
}

int compute_threads() {
  return openblas_get_num_threads();
}

int default_compute_threads(int local_size) {
  DDP_CHECK_ARG(local_size >= 1, "local_size must be at least 1, got " << local_size);
  long long from_env = env::get_int("DDP_THREADS", 0);
  if (from_env != 0) {
    DDP_CHECK_ARG(from_env >= 1, "DDP_THREADS=" << from_env << " must be at least 1");
    return static_cast<int>(from_env);
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int share = std::max(1, cores / local_size);
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    share = std::min(share, std::max(1, CPU_COUNT(&allowed)));
  }
  return share;
}

}  // namespace ddp::kernels
