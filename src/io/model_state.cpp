// A module's state_dict in and out of a checkpoint, apart from the file format so that the
// format's readers (and their fuzzers) need no module.
#include <algorithm>

#include "ddp/io/checkpoint.hpp"

namespace ddp::io {

std::vector<NamedTensor> model_state(nn::Module& model) {
  std::vector<NamedTensor> state = model.state_dict();
  // Host copies, whichever device the model lives on: the checkpoint writer reads them there.
  for (NamedTensor& named : state) {
    named.tensor =
        named.tensor.device().is_cpu() ? named.tensor.clone() : named.tensor.to(Device::cpu());
  }
  return state;
}

void load_model_state(const std::vector<NamedTensor>& saved, nn::Module& model,
                      const std::string& origin) {
  const std::vector<NamedTensor> state = model.state_dict();
  const std::size_t common = std::min(saved.size(), state.size());
  for (std::size_t i = 0; i < common; ++i) {
    const NamedTensor& from = saved[i];
    const NamedTensor& to = state[i];
    DDP_CHECK(from.name == to.name, origin << " is from another model: tensor " << i << " is '"
                                           << from.name << "' there but '" << to.name
                                           << "' in this model");
    DDP_CHECK(from.tensor.defined() && from.tensor.dtype() == to.tensor.dtype() &&
                  from.tensor.shape() == to.tensor.shape(),
              origin << " is from another model: '" << to.name << "' is "
                     << (from.tensor.defined()
                             ? to_string(from.tensor.dtype()) + to_string(from.tensor.shape())
                             : std::string("undefined"))
                     << " there but " << to_string(to.tensor.dtype())
                     << to_string(to.tensor.shape()) << " in this model");
  }
  DDP_CHECK(saved.size() == state.size(),
            origin << " is from another model: it has " << saved.size() << " tensors, this model "
                   << state.size() << "; '"
                   << (saved.size() > state.size() ? saved[common].name : state[common].name)
                   << (saved.size() > state.size() ? "' is not in this model"
                                                   : "' is not in the checkpoint"));
  for (std::size_t i = 0; i < common; ++i) {
    Tensor target = state[i].tensor;  // shares the model's storage
    target.copy_(saved[i].tensor);
  }
}

}  // namespace ddp::io
