// CollectiveInfo: what one issued collective is, as the watchdog and the debug check describe it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ddp/core/dtype.hpp"

namespace ddp::comm {

struct CollectiveInfo {
  const char* name = "";       // "all_reduce", "broadcast", ...
  std::uint64_t sequence = 0;  // position in the group's issue order, counted from 0
  DType dtype = DType::float32;
  std::int64_t count = 0;  // elements every rank agrees on (the total for the v-collectives)
  int root = -1;           // for rooted collectives, else -1
  int op = -1;             // the ReduceOp as an integer, for reductions, else -1

  std::size_t bytes() const { return static_cast<std::size_t>(count) * dtype_size(dtype); }
};

// "all_reduce #17 (4096 bytes of float32)"; "barrier #3" for one that moves no data.
std::string describe(const CollectiveInfo& info);

}  // namespace ddp::comm
