// The tutorial's DataParallel steps across ranks: replicate (same parameters everywhere), scatter
// a batch along dimension 0 with torch.chunk's sizes, gather or all-gather outputs. Training does
// not need scatter or gather (each rank reads its own slice); they are for code that wants to see
// a whole batch in one place. Collective: every rank of the group calls them in the same order.
#pragma once

#include <cstdint>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::parallel {

// Checks that every rank has the same state_dict (parameters and buffers: names, dtypes and
// shapes, in the same order); if not, every rank throws the same Error naming the first entry
// that differs and the ranks on which it differs from rank 0 (instead of a hang or a garbled
// broadcast later).
void check_same_state(nn::Module& module, ProcessGroup& group);

// check_same_state, then every parameter and buffer takes root's values: the replicas start
// equal.
void replicate(nn::Module& module, ProcessGroup& group, int root = 0);

// Rows per rank when `rows` are cut as torch.chunk(x, world_size) does: 30 over 4 is 8,8,8,6;
// 10 over 8 is 2,2,2,2,2,0,0,0.
std::vector<std::int64_t> chunk_sizes(std::int64_t rows, int world_size);

// root's input [rows, ...] cut along dimension 0 by chunk_sizes; every rank receives its chunk
// (0 rows when past the end). Only root's input is read; it also tells the others shape and dtype.
// device: where this rank's chunk goes and the collectives run, on every rank (each rank's GPU
// under NCCL); root's input may be on any device.
Tensor scatter(ProcessGroup& group, const Tensor& input, int root = 0,
               const Device& device = Device::cpu());

// Every rank's rows, concatenated in rank order on root (rows may differ per rank, trailing
// dimensions and dtype may not), on local's device; an undefined tensor on the other ranks.
Tensor gather(ProcessGroup& group, const Tensor& local, int root = 0);

// As gather, with the result on every rank.
Tensor all_gather(ProcessGroup& group, const Tensor& local);

}  // namespace ddp::parallel
