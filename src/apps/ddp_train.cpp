// ddp-train: data-parallel training of an MLP under mpirun; `ddp-train --help` lists the options.
#include "ddp/comm/runtime.hpp"
#include "train/train_options.hpp"
#include "train/trainer.hpp"

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [&](ddp::Runtime& runtime) {
    auto options = ddp::train::parse_train_options(argc, argv, *runtime.world());
    if (options) ddp::train::train(runtime, *options);
    return 0;
  });
}
