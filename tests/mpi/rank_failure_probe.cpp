// A program whose rank 1 fails alone (as on bad data only it reads) while the others wait in a
// collective: the job must end with rank 1's message, not hang.
#include "ddp/comm/runtime.hpp"

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [](ddp::Runtime& runtime) {
    DDP_CHECK(runtime.rank() != 1, "sample 17 of shard-1.csv is malformed (probe)");
    ddp::Tensor t = ddp::Tensor::zeros({256});
    runtime.world()->all_reduce(t);
    return 0;
  });
}
