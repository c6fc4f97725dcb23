// The subcommands of ddp-bench. Each parses its own options (argv[0] is the subcommand's name),
// measures its thing and a baseline in the same run, and prints a Report on rank 0.
#pragma once

#include "ddp/comm/runtime.hpp"

namespace ddp::bench {

// Process-group all-reduce against a raw MPI_Allreduce loop, sizes 4 B to 64 MiB.
int allreduce(Runtime& runtime, int argc, char** argv);

// One process trains an MLP (784-1024-1024-10, batch 64): step time against its GEMMs alone.
int step(Runtime& runtime, int argc, char** argv);

// DDP's step with its bucketed all-reduce, without it, and the all-reduces alone: what backward
// hides of the communication (exposed = with - without).
int overlap(Runtime& runtime, int argc, char** argv);

// Step time and efficiency at 8 to 4,096 ranks from one rank's compute, the bucket plan and an
// alpha-beta network model (ring and tree all-reduce, overlapped with backward).
int project(Runtime& runtime, int argc, char** argv);

}  // namespace ddp::bench
