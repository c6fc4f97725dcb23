// A program whose last rank skips an all_reduce: the watchdog must end the job with a message.
// With the argument "shared" the tensor is a collective buffer, so the stuck all-reduce is the
// shared-memory one DDP's buckets use; without it, MPI_Allreduce.
#include <string>

#include "ddp/comm/runtime.hpp"

int main(int argc, char** argv) {
  const bool shared = argc > 1 && std::string(argv[1]) == "shared";
  return ddp::run_program(argc, argv, [shared](ddp::Runtime& runtime) {
    ddp::ProcessGroup& world = *runtime.world();
    ddp::Tensor t =
        shared ? world.collective_buffer({256}, ddp::DType::float32) : ddp::Tensor::zeros({256});
    if (runtime.rank() != runtime.world_size() - 1) world.all_reduce(t);
    return 0;
  });
}
