// Sums a tensor over the world with the installed library and prints the result.
#include <iostream>

#include "ddp/comm/runtime.hpp"

int main(int argc, char** argv) {
  return ddp::run_program(argc, argv, [](ddp::Runtime& runtime) {
    ddp::Tensor t = ddp::Tensor::from_vector<float>({1.5f}, {1});
    runtime.world()->all_reduce(t);
    if (runtime.rank() == 0) std::cout << "sum " << t.data<float>()[0] << "\n";
    return 0;
  });
}
