// Gradient clipping by the global L2 norm over all parameters, as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <vector>

#include "ddp/nn/module.hpp"

namespace ddp::optim {

// Scales every gradient by max_norm / (norm + 1e-6) when that is below 1, where norm is the L2
// norm of all gradients together (parameters without a gradient count as 0). Returns norm, before
// clipping. Under DDP call it after the all-reduce, so every rank clips the same global gradient.
double clip_grad_norm(const std::vector<nn::Parameter*>& params, double max_norm);
// The scaling step of clip_grad_norm, for a norm found elsewhere (over the shards of all ranks).
void scale_to_max_norm(std::vector<Tensor>& grads, double norm, double max_norm);

}  // namespace ddp::optim
