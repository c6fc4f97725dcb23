// A program whose last rank skips an all_reduce: the watchdog must end the job with a message.
#include "ddp/comm/runtime.hpp"

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [](ddp::Runtime& runtime) {
    ddp::Tensor t = ddp::Tensor::zeros({256});
    if (runtime.rank() != runtime.world_size() - 1) runtime.world()->all_reduce(t);
    return 0;
  });
}
