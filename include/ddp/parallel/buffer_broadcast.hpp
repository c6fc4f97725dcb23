// BufferBroadcast: copies root's module buffers (BatchNorm's running statistics) to every rank,
// coalesced into one broadcast per dtype through flat tensors kept from call to call. DDP runs it
// before each training forward (DdpOptions::broadcast_buffers), as PyTorch's DDP does.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "ddp/comm/process_group.hpp"
#include "ddp/nn/module.hpp"

namespace ddp::parallel {

class BufferBroadcast {
 public:
  // Groups module's buffers by dtype (in the order of buffers(), the same on every rank of a
  // replicated model) and allocates one flat tensor per dtype on the buffers' device. module must
  // outlive this object and keep its buffers.
  BufferBroadcast(nn::Module& module, std::shared_ptr<ProcessGroup> group, int root = 0);

  // Collective over the group: every rank's buffers take root's values. Nothing to do for one
  // rank or a module without buffers.
  void run();
  // How many broadcasts run() issues: one per dtype among the buffers.
  std::size_t broadcasts() const { return flats_.size(); }

 private:
  struct Flat {
    std::vector<nn::Buffer*> buffers;  // all of one dtype
    Tensor flat;                       // their elements end to end
  };

  std::shared_ptr<ProcessGroup> group_;
  int root_;
  std::vector<Flat> flats_;
};

}  // namespace ddp::parallel
