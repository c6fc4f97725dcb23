// The CUDA kernels behind the kernels' dispatch, for tensors on a GPU (private to src/kernels).
// No CUDA header here: the CPU files that dispatch include it. Without CUDA in the build, stub.cpp
// defines each as an Error (unreachable in practice: no CUDA tensor can exist there).
#pragma once

#include "ddp/kernels/optimizer_update.hpp"

namespace ddp::kernels::cuda {

void sgd_update(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdUpdate& rule);
void adamw_update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                  const AdamwUpdate& rule);

}  // namespace ddp::kernels::cuda
