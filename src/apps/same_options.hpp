// Every rank of a job must run with the same options: one given another batch size, model or
// schedule issues other collectives (a hang, or MPI writing past a buffer) or trains another run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ddp/comm/process_group.hpp"

namespace ddp::cli {

// One option and its value as text ("" when neither given nor defaulted).
using Setting = std::pair<std::string, std::string>;

// Collective: returns when every rank of group holds the same settings, in the same order;
// otherwise an InvalidArgument on every rank, the same one, naming the first option that differs
// and its values on rank 0 and on the first rank where it differs.
void check_same_on_every_rank(ProcessGroup& group, const std::vector<Setting>& settings);

}  // namespace ddp::cli
