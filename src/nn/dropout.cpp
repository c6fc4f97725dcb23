#include "ddp/nn/dropout.hpp"

#include "ddp/kernels/pointwise.hpp"

namespace ddp::nn {

Dropout::Dropout(float p, std::uint64_t seed) : p_(p), generator_(seed) {
  DDP_CHECK_ARG(0.0f <= p && p < 1.0f, "Dropout probability " << p << " must be in [0, 1)");
}

Tensor Dropout::forward(const Tensor& input) {
  masked_ = is_training() && p_ > 0.0f;
  if (!masked_) return input;
  mask_ = mask_buffer_.get(input.shape(), input.device());
  kernels::dropout_mask(mask_, p_, generator_);
  Tensor output = output_.get(input.shape(), input.device());
  kernels::multiply(input, mask_, output);
  return output;
}

Tensor Dropout::backward(const Tensor& grad_output) {
  if (!input_grad_needed()) return {};
  if (!masked_) return grad_output;
  DDP_CHECK(grad_output.shape() == mask_.shape(),
            "Dropout backward got grad_output " << to_string(grad_output.shape())
                                                << " for an output of " << to_string(mask_.shape())
                                                << "; call forward first, with the same batch");
  Tensor grad_input = grad_input_.get(grad_output.shape(), grad_output.device());
  kernels::multiply(grad_output, mask_, grad_input);
  return grad_input;
}

}  // namespace ddp::nn
