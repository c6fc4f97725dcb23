// The per-element update rules of SGD and AdamW, one fused pass each, in PyTorch's order of
// float operations so that the results agree with torch.optim to rounding. Hyperparameters are
// doubles, like PyTorch's Python floats, and are rounded to float where PyTorch rounds them.
#pragma once

#include <cstdint>

#include "ddp/core/tensor.hpp"

namespace ddp::kernels {

struct SgdUpdate {
  double lr = 0.0;            // step size
  double momentum = 0.0;      // 0 skips the buffer entirely
  double dampening = 0.0;     // the buffer takes (1 - dampening) of each new gradient, after step 1
  double weight_decay = 0.0;  // L2 term added to the gradient before momentum
  bool nesterov = false;      // look-ahead: step along grad + momentum * buffer
  bool first_step = false;    // the buffer starts as the (decayed) gradient, as in PyTorch
  // One float in the param's device memory, or nullptr: where it is nonzero the update does
  // nothing. A verdict taken on the device (non-finite gradients) skips the step without the host
  // waiting to read it.
  const float* skip = nullptr;
};

// param -= lr * d, where d is the gradient after weight decay and momentum; momentum_buffer is
// read and written when momentum != 0 (it may be undefined otherwise).
void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdUpdate& rule);

struct AdamwUpdate {
  double lr = 0.0;              // step size before bias correction
  double beta1 = 0.9;           // decay of the first moment
  double beta2 = 0.999;         // decay of the second moment
  double eps = 1e-8;            // added to the denominator after bias correction
  double weight_decay = 0.0;    // decoupled: param *= 1 - lr * weight_decay before the step
  std::int64_t step = 1;        // 1 on the first update: drives the bias correction
  const float* skip = nullptr;  // as SgdUpdate::skip
};

// One AdamW update of param from grad; exp_avg and exp_avg_sq are the moment buffers.
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamwUpdate& rule);

}  // namespace ddp::kernels
