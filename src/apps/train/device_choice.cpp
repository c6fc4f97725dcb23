#include "device_choice.hpp"

#include "ddp/core/error.hpp"
#include "ddp/core/log.hpp"
#include "ddp/kernels/cuda_device.hpp"
#include "ddp/kernels/threads.hpp"

namespace ddp::train {

Device choose_device(DeviceRequest requested, const Runtime& runtime) {
  if (requested == DeviceRequest::cpu) return Device::cpu();
  if (kernels::cuda_device_count() == 0) {
    const std::string why = kernels::cuda_unavailable_reason();
    DDP_CHECK_ARG(requested != DeviceRequest::cuda,
                  "--device cuda: no usable CUDA device: " << why << "; use --device cpu or auto");
    DDP_INFO("--device auto: no usable CUDA device (" << why << "); training on the CPU");
    return Device::cpu();
  }
  const Device gpu = Device::cuda(kernels::cuda_device_for_local_rank(runtime.local_rank()));
  kernels::set_cuda_device(gpu.index);
  return gpu;
}

std::string describe_device(const Device& device) {
  if (device.is_cpu()) {
    const int threads = kernels::compute_threads();
    return "the CPU, " + std::to_string(threads) + " compute thread" + (threads == 1 ? "" : "s") +
           " per rank";
  }
  return to_string(device) + " (" + kernels::cuda_device_description(device.index) + ")";
}

}  // namespace ddp::train
