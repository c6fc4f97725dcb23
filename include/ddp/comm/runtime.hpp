// Runtime: the process's place in the job. Starts MPI, knows rank, world size, local rank and host,
// owns the world process group, and finalises (or aborts the whole job) on the way out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ddp/comm/process_group.hpp"

namespace ddp {

class Runtime {
 public:
  // Initialises MPI with MPI_THREAD_MULTIPLE (each process group runs its collectives on its own
  // thread). Started without mpirun, the process is a world of one. One Runtime per process.
  Runtime(int& argc, char**& argv);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // Rank and count among the processes on this host (split by shared memory, so it is right under
  // mpirun, Slurm and hostfiles alike): picks the GPU and the share of cores.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& host() const { return host_; }
  // The ranks on each node (a node: the ranks that share memory), nodes in the order of their
  // lowest rank: {2, 2} for 2 nodes of 2 ranks, {1, 2} for an uneven pair.
  const std::vector<int>& ranks_per_node() const { return ranks_per_node_; }

  // All ranks, on the CPU transports: shared memory within a node, MPI across nodes, as
  // topology.hpp says (node_layout).
  const std::shared_ptr<ProcessGroup>& world() const { return world_; }

  // Ends every process of the job with exit_code (MPI_Abort), from any thread, at any time.
  [[noreturn]] static void abort_job(int exit_code);

 private:
  // Learns every rank's node (node_leader: the lowest rank sharing memory with this one).
  void learn_the_nodes(int node_leader);

  int rank_ = 0;
  int world_size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  std::string host_;
  std::vector<int> ranks_per_node_;
  std::shared_ptr<ProcessGroup> world_;
};

// The body of every ddp program. Runs body(runtime) and turns what it throws into one line,
// "[rank R/N host] error: ...", and an exit code: 2 for ddp::InvalidArgument, 1 otherwise. When
// every rank fails the same way (a bad flag) each exits cleanly with rank 0 alone printing; rank 0
// also writes the exit code to the file DDP_AGREED_ERROR_FILE names, when set (launch/ddp-mpirun
// then leaves out mpirun's blocks about the ranks' exit, which would only repeat it). When only
// some ranks fail, they print their own message and abort the job so that no other rank waits
// forever.
int run_program(int argc, char** argv, const std::function<int(Runtime&)>& body);

}  // namespace ddp
