#include "ddp/optim/clip.hpp"

#include <cmath>

#include "ddp/kernels/pointwise.hpp"
#include "ddp/kernels/reduce.hpp"

namespace ddp::optim {

double clip_grad_norm(const std::vector<nn::Parameter*>& params, double max_norm) {
  DDP_CHECK_ARG(max_norm > 0.0, "gradient clipping max_norm " << max_norm << " must be > 0");
  double squared = 0.0;
  for (const nn::Parameter* param : params) {
    if (param->has_grad) squared += kernels::squared_norm(param->grad);
  }
  const double norm = std::sqrt(squared);
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1.0) {
    for (nn::Parameter* param : params) {
      if (param->has_grad) kernels::scale_(param->grad, static_cast<float>(coefficient));
    }
  }
  return norm;
}

}  // namespace ddp::optim
