// ddp-train: data-parallel training of any registered model family under mpirun; `ddp-train --help`
// lists the options.
#include "cli_options.hpp"
#include "ddp/comm/runtime.hpp"
#include "train/stop_signal.hpp"
#include "train/train_options.hpp"
#include "train/trainer.hpp"

namespace {

// mpirun forwards a stop whenever it comes, and the default action of SIGUSR1 ends a process: the
// handlers go in before any shared library's initializers run (the CUDA libraries' take some
// 0.2 s), which is what the executable's .preinit_array is for.
void install_before_libraries(int, char**, char**) {
  ddp::train::install_stop_handlers();
}
[[gnu::used, gnu::section(".preinit_array")]] void (*const early_stop_handlers)(
    int, char**, char**) = install_before_libraries;

}  // namespace

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [&](ddp::Runtime& runtime) {
    auto options = ddp::train::parse_train_options(argc, argv, *runtime.world());
    if (!options) return 0;
    // The library's names of what these flags set.
    const ddp::cli::FlagNames flags{
        {"model", "--model"}, {"backend", "--backend"}, {"compute threads", "--threads"}};
    ddp::cli::for_flags(flags, [&] { ddp::train::train(runtime, *options); });
    return 0;
  });
}
