// Where a rank of ddp-train trains (--device auto|cpu|cuda): the CPU, or its own GPU, which is its
// local rank modulo the GPUs this process sees.
#pragma once

#include <string>

#include "ddp/comm/runtime.hpp"
#include "ddp/core/device.hpp"
#include "train_options.hpp"

namespace ddp::train {

// auto: this rank's GPU when a driver and a device exist, else the CPU after one notice (from
// rank 0) that gives the reason; cuda without a usable GPU: an InvalidArgument with the reason,
// in seconds. A GPU chosen becomes the calling thread's current device.
Device choose_device(DeviceRequest requested, const Runtime& runtime);

// "the CPU, 2 compute threads per rank", or "cuda:0 (NVIDIA H100 80GB HBM3 (sm_90, 79 GiB))":
// for the line a run starts with.
std::string describe_device(const Device& device);

}  // namespace ddp::train
