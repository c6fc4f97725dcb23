// A tensor [N, C, ...] seen as [batch, channels, inner] with C at dimension 1 (private to
// src/kernels): batch norm's view of its input, shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "checks.hpp"

namespace ddp::kernels::detail {

struct ChannelLayout {
  std::int64_t batch = 0;
  std::int64_t channels = 0;
  std::int64_t inner = 1;  // the elements of one channel of one sample (H * W); 1 for [N, C]

  std::int64_t numel() const { return batch * channels * inner; }
};

inline ChannelLayout channel_layout(const Tensor& x, const char* op) {
  DDP_CHECK(x.ndim() >= 2 && x.size(1) > 0, op << ": x has shape " << ddp::to_string(x.shape())
                                               << "; batch norm needs [N, C, ...] with C > 0");
  ChannelLayout layout{x.size(0), x.size(1), 1};
  for (std::size_t d = 2; d < x.ndim(); ++d) layout.inner *= x.size(d);
  return layout;
}

// An Error unless t holds rows * channels elements of dtype: a per-channel tensor of a call.
inline void check_per_channel(const Tensor& t, std::int64_t rows, std::int64_t channels,
                              DType dtype, const char* what, const char* op) {
  DDP_CHECK(t.defined() && t.numel() == rows * channels && t.dtype() == dtype,
            op << ": " << what << " is " << ddp::to_string(t.dtype()) << ddp::to_string(t.shape())
               << "; it needs " << rows * channels << " elements (" << rows << " x " << channels
               << " channels) of " << ddp::to_string(dtype));
}

}  // namespace ddp::kernels::detail
