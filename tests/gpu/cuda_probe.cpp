// Prints what this build of ddp sees of CUDA, one key=value a line, for the GPU scripts.
#include <iostream>

#include "ddp/kernels/cuda_device.hpp"

int main() {
  int count = ddp::kernels::cuda_device_count();
  std::cout << "cuda_built=" << ddp::kernels::cuda_built() << "\n"
            << "cuda_devices=" << count << "\n";
  if (count == 0) std::cout << "cuda_reason=" << ddp::kernels::cuda_unavailable_reason() << "\n";
  for (int device = 0; device < count; ++device) {
    std::cout << "cuda:" << device << "=" << ddp::kernels::cuda_device_description(device) << "\n";
  }
}
