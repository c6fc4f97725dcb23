// A convolution's sizes as the im2col and col2im loops see them (private to src/kernels): conv.cpp
// checks them against the tensors, the CPU and CUDA loops walk them.
#pragma once

#include <cstdint>

#include "ddp/kernels/conv.hpp"

namespace ddp::kernels::detail {

struct ConvShape {
  std::int64_t batch = 0;  // the image's [N, C, H, W]
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
  ConvWindow window;
  std::int64_t out_height = 0;  // window.output_size(height)
  std::int64_t out_width = 0;
};

}  // namespace ddp::kernels::detail
