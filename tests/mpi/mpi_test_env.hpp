// What the MPI tests share: the process's Runtime, set by the test main.
#pragma once

#include "ddp/comm/runtime.hpp"

namespace ddp::testing_env {

inline Runtime* runtime = nullptr;

inline ProcessGroup& world() {
  return *runtime->world();
}

}  // namespace ddp::testing_env
