#include "ddp/nn/embedding.hpp"

#include "ddp/kernels/embedding.hpp"

namespace ddp::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator)
    : embedding_dim_(embedding_dim) {
  DDP_CHECK_ARG(num_embeddings > 0 && embedding_dim > 0, "Embedding(" << num_embeddings << ", "
                                                                      << embedding_dim
                                                                      << ") needs positive sizes");
  weight_ = &register_parameter("weight", {num_embeddings, embedding_dim});
  float* data = weight_->value.data<float>();
  for (std::int64_t i = 0; i < weight_->value.numel(); ++i) data[i] = generator.normal();
}

Tensor Embedding::forward(const Tensor& input) {
  DDP_CHECK(input.dtype() == DType::int64,
            "Embedding input must be int64 indices, got " << to_string(input.dtype()));
  indices_ = input.reshape({input.numel()});
  Tensor output = output_.get({input.numel(), embedding_dim_}, weight_->value.device());
  kernels::gather_rows(weight_->value, indices_, output);
  Shape out_shape = input.shape();
  out_shape.push_back(embedding_dim_);
  return output.reshape(std::move(out_shape));
}

Tensor Embedding::backward(const Tensor& grad_output) {
  DDP_CHECK(indices_.defined() && grad_output.numel() == indices_.numel() * embedding_dim_,
            "Embedding backward got grad_output "
                << to_string(grad_output.shape()) << " for " << indices_.numel()
                << " looked-up rows; call forward first, with the same batch");
  if (!weight_->has_grad) weight_->grad.zero_();
  kernels::scatter_add_rows(grad_output.reshape({indices_.numel(), embedding_dim_}), indices_,
                            weight_->grad);
  grad_ready(*weight_);
  return {};
}

}  // namespace ddp::nn
