// The reductions a collective can apply: sum, average over the group's ranks, minimum, maximum.
#pragma once

#include <string>

namespace ddp {

enum class ReduceOp { sum, avg, min, max };

std::string to_string(ReduceOp op);

}  // namespace ddp
