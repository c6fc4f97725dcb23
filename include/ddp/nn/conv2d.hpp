// Conv2d: a 2-D convolution over [N, C, H, W] images with PyTorch's semantics and default
// initialisation (square kernel, stride and zero padding; dilation 1, groups 1), computed as
// GEMMs over im2col's columns.
#pragma once

#include <cstdint>
#include <string>

#include "ddp/core/random.hpp"
#include "ddp/kernels/conv.hpp"
#include "ddp/nn/module.hpp"
#include "ddp/nn/workspace.hpp"

namespace ddp::nn {

struct Conv2dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  // weight [out, in, k, k] then bias [out], both uniform in +-1/sqrt(in * k * k) drawn from
  // generator in that order (nn.Conv2d's kaiming_uniform(a=sqrt(5)) bound, the same for both).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
         Generator& generator, Conv2dOptions options = {});

  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  const kernels::ConvWindow& window() const { return window_; }
  Parameter& weight() { return parameter(0); }
  Parameter* bias() { return with_bias_ ? &parameter(1) : nullptr; }

 protected:
  // input [N, in, H, W] (N may be 0) -> [N, out, Ho, Wo], Ho = (H + 2 padding - k) / stride + 1.
  Tensor forward_impl(const Tensor& input) override;
  // grad bias += sums of dy per channel, grad weight += dy columns^T, then dx = col2im(W^T dy).
  Tensor backward_impl(const Tensor& grad_output) override;

 private:
  // Memory that holds one chunk's data of a call; chunk says which (its first sample), -1 when
  // the memory holds something else, so that a chunk still there is not computed again.
  struct ChunkBuffer {
    Workspace memory;
    std::int64_t chunk = -1;
  };
  struct Frame {
    Tensor input;                // the forward's input, kept by reference (no copy)
    std::int64_t positions = 0;  // Ho * Wo
    Workspace output;            // [N, out, Ho, Wo]
    ChunkBuffer columns;         // im2col of a chunk of samples, [in*k*k, samples*Ho*Wo]
    // A chunk of several samples in the GEMM's layout [out, samples*Ho*Wo]: the forward's result
    // before it is permuted into [samples, out, Ho, Wo], or backward's dy permuted out of it.
    ChunkBuffer out_columns;
    Workspace grad_input;  // [N, in, H, W]
  };

  // PyTorch's repr, "Conv2d(1, 32, kernel_size=5, stride=1, padding=2)", for error messages.
  std::string description() const;
  // The inputs one output sums over: in * k * k, the weight's columns.
  std::int64_t taps() const;
  // The checked input's output size [N, out, Ho, Wo].
  Shape output_shape(const Tensor& input) const;
  // Samples per GEMM for a batch of n on device.
  std::int64_t samples_per_chunk(std::int64_t n, std::int64_t positions,
                                 const Device& device) const;
  // im2col of samples [first, first + count) of the frame's input into frame.columns.
  Tensor chunk_columns(Frame& frame, std::int64_t first, std::int64_t count);
  // dy of samples [first, first + count) as [out, count*Ho*Wo].
  Tensor chunk_grad_output(Frame& frame, const Tensor& grad_output, std::int64_t first,
                           std::int64_t count);

  std::int64_t in_channels_;
  std::int64_t out_channels_;
  kernels::ConvWindow window_;
  bool with_bias_;
  CallFrames<Frame> frames_;
};

}  // namespace ddp::nn
