// The fixture of every GPU test: skipped, with the reason, where no CUDA device is usable.
#pragma once

#include <gtest/gtest.h>

#include "ddp/kernels/cuda_device.hpp"

namespace ddp {

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kernels::cuda_device_count() == 0) {
      GTEST_SKIP() << "no usable CUDA device: " << kernels::cuda_unavailable_reason();
    }
  }
};

}  // namespace ddp
