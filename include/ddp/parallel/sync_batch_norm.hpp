// SyncBatchNorm: the model's BatchNorm layers take their training statistics over the global
// batch of every rank, as one process on the whole batch would (nn.SyncBatchNorm).
#pragma once

#include <cstddef>
#include <memory>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::parallel {

// Makes every BatchNorm in module.modules() sum its statistics over group (an all-reduce per
// layer in training forward, one more in backward) and returns how many it converted
// (nn.SyncBatchNorm.convert_sync_batchnorm; the state_dict names are unchanged). Every rank of
// group must convert the same model and then run its forward and backward, also with an empty
// slice.
std::size_t convert_sync_batchnorm(nn::Module& module, std::shared_ptr<ProcessGroup> group);

}  // namespace ddp::parallel
