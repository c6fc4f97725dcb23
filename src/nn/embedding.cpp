#include "ddp/nn/embedding.hpp"

#include "ddp/kernels/embedding.hpp"

namespace ddp::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator)
    : embedding_dim_(embedding_dim) {
  DDP_CHECK_ARG(num_embeddings > 0 && embedding_dim > 0, "Embedding(" << num_embeddings << ", "
                                                                      << embedding_dim
                                                                      << ") needs positive sizes");
  Tensor& weight = register_parameter("weight", {num_embeddings, embedding_dim}).value;
  float* data = weight.data<float>();
  for (std::int64_t i = 0; i < weight.numel(); ++i) data[i] = generator.normal();
}

Tensor Embedding::forward_impl(const Tensor& input) {
  DDP_CHECK(input.dtype() == DType::int64,
            "Embedding input must be int64 indices, got " << to_string(input.dtype()));
  Frame& frame = frames_[call_index()];
  frame.indices = input.reshape({input.numel()});
  const Tensor& weight = parameter(0).value;
  Tensor output = frame.output.get({input.numel(), embedding_dim_}, weight.device());
  kernels::gather_rows(weight, frame.indices, output);
  Shape out_shape = input.shape();
  out_shape.push_back(embedding_dim_);
  return output.reshape(std::move(out_shape));
}

Tensor Embedding::backward_impl(const Tensor& grad_output) {
  Frame& frame = frames_[call_index()];
  DDP_CHECK(
      frame.indices.defined() && grad_output.numel() == frame.indices.numel() * embedding_dim_,
      "Embedding backward got grad_output "
          << to_string(grad_output.shape()) << " for " << frame.indices.numel()
          << " looked-up rows; call forward first, with the same batch");
  Parameter& weight = parameter(0);
  if (!weight.has_grad) weight.grad.zero_();
  kernels::scatter_add_rows(grad_output.reshape({frame.indices.numel(), embedding_dim_}),
                            frame.indices, weight.grad);
  grad_ready(weight);
  return {};
}

}  // namespace ddp::nn
