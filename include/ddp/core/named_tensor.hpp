// NamedTensor: a tensor with the name it is saved and loaded under (a state_dict key, an
// optimizer buffer "momentum_buffer/0.weight"), as checkpoints and weight files list them.
#pragma once

#include <string>

#include "ddp/core/tensor.hpp"

namespace ddp {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace ddp
