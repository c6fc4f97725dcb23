#include "ddp/nn/dropout.hpp"

#include "ddp/kernels/pointwise.hpp"

namespace ddp::nn {

Dropout::Dropout(float p, std::uint64_t seed) : p_(p), generator_(seed) {
  DDP_CHECK_ARG(0.0f <= p && p < 1.0f, "Dropout probability " << p << " must be in [0, 1)");
}

Tensor Dropout::forward_impl(const Tensor& input) {
  Frame& frame = frames_[call_index()];
  frame.masked = is_training() && p_ > 0.0f;
  if (!frame.masked) return input;
  frame.mask = frame.mask_memory.get(input.shape(), input.device());
  kernels::dropout_mask(frame.mask, p_, generator_);
  Tensor output = frame.output.get(input.shape(), input.device());
  kernels::multiply(input, frame.mask, output);
  return output;
}

Tensor Dropout::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  if (!input_grad_needed()) return {};
  if (!frame.masked) return grad_output;
  DDP_CHECK(grad_output.shape() == frame.mask.shape(),
            "Dropout backward got grad_output "
                << to_string(grad_output.shape()) << " for an output of "
                << to_string(frame.mask.shape()) << "; call forward first, with the same batch");
  Tensor grad_input = frame.grad_input.get(grad_output.shape(), grad_output.device());
  kernels::multiply(grad_output, frame.mask, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
