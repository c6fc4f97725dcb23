#include "ddp/nn/flatten.hpp"

namespace ddp::nn {

Tensor Flatten::forward_impl(const Tensor& input) {
  DDP_CHECK(input.ndim() >= 1, "Flatten needs a batch dimension; got a 0-dimensional tensor");
  input_shapes_[call_index()] = input.shape();
  std::int64_t features = 1;
  for (std::size_t d = 1; d < input.ndim(); ++d) features *= input.size(d);
  return input.reshape({input.size(0), features});
}

Tensor Flatten::backward_impl(const Tensor& grad_output) {
  const Shape& shape = input_shapes_[call_index()];
  DDP_CHECK(grad_output.numel() == numel(shape),
            "Flatten backward got grad_output " << to_string(grad_output.shape())
                                                << " for an input of " << to_string(shape)
                                                << "; call forward first, with the same batch");
  if (!input_grad_needed()) return {};
  return grad_output.reshape(shape);
}

}  // namespace ddp::nn
