#include "ddp/optim/clip.hpp"

#include <cmath>

#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/reduce.hpp"

namespace ddp::optim {

double clip_grad_norm(const std::vector<nn::Parameter*>& params, double max_norm) {
  std::vector<Tensor> grads;
  for (const nn::Parameter* param : params) {
    if (param->has_grad) grads.push_back(param->grad);
  }
  double squared = 0.0;
  for (const Tensor& grad : grads) squared += kernels::squared_norm(grad);
  const double norm = std::sqrt(squared);
  scale_to_max_norm(grads, norm, max_norm);
  return norm;
}

void scale_to_max_norm(std::vector<Tensor>& grads, double norm, double max_norm) {
  DDP_CHECK_ARG(max_norm > 0.0, "gradient clipping max_norm " << max_norm << " must be > 0");
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient >= 1.0) return;
  for (Tensor& grad : grads) kernels::scale_(grad, static_cast<float>(coefficient));
}

}  // namespace ddp::optim
