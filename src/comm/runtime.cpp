#include "ddp/comm/runtime.hpp"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "ddp/comm/topology.hpp"
#include "ddp/core/env.hpp"
#include "ddp/core/log.hpp"
#include "ddp/core/running_time.hpp"
#include "hierarchical_process_group.hpp"
#include "mpi_types.hpp"
#include "watchdog.hpp"

namespace ddp {
namespace {

// A communicator of its own for agreeing on failure, so it never mixes with user collectives.
MPI_Comm failure_comm = MPI_COMM_NULL;
bool runtime_exists = false;

// How long a failing rank waits for the others to report the same failure before it aborts.
constexpr auto kFailureAgreementTime = std::chrono::seconds(3);
// How much longer than the collective timeout ranks wait for each other at exit.
constexpr auto kExitGrace = std::chrono::seconds(5);

std::string short_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown-host";
  std::string host(name);
  return host.substr(0, host.find('.'));
}

// Polls request until it completes (true) or the limit passes (false; time stopped does not count),
// sleeping between polls so that a waiting rank leaves its core to the others.
bool wait_until(MPI_Request& request, std::chrono::duration<double> limit) {
  RunningTime waited(std::chrono::seconds(1));
  int done = 0;
  while (waited.look() < limit) {
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
    if (done) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// The collective of failure_comm, failed (1) or not (0): the number of ranks that failed, or -1
// when not every rank joined within limit. A failing rank enters it once, and so does every rank at
// exit: being the same collective both ways, a rank that fails meets one that finished.
int count_failures(int failed, std::chrono::duration<double> limit) {
  int total = 0;
  MPI_Request request;
  if (MPI_Iallreduce(&failed, &total, 1, MPI_INT, MPI_SUM, failure_comm, &request) != MPI_SUCCESS) {
    return -1;
  }
  return wait_until(request, limit) ? total : -1;
}

// DDP_TIMEOUT_SECONDS for the start-up; a bad value is reported once MPI is up (by the world
// group, which reads it too), the default watching until then.
std::chrono::duration<double> start_up_limit() {
  try {
    return comm::collective_timeout();
  } catch (const InvalidArgument&) {
    return std::chrono::seconds(300);
  }
}

// Under launch/ddp-mpirun: the ranks all failed alike and rank 0 is about to say why, so the
// launcher may leave out mpirun's blocks about their non-zero exit (it checks that they name
// exit_code). Written before the error line, into a file that must not exist yet ("x": nothing of
// anyone else's is overwritten); when it cannot be written, mpirun's blocks stay.
void tell_launcher_ranks_agreed(int exit_code) {
  const auto file = env::get("DDP_AGREED_ERROR_FILE");
  if (!file) return;
  std::FILE* out = std::fopen(file->c_str(), "wx");
  if (out == nullptr) return;
  std::fprintf(out, "%d\n", exit_code);
  std::fclose(out);
}

void finalize_mpi() {
  MPI_Comm_free(&failure_comm);
  MPI_Finalize();
  runtime_exists = false;
}

}  // namespace

Runtime::Runtime(int& argc, char**& argv) {
  DDP_CHECK(!runtime_exists, "a ddp::Runtime already exists in this process; create only one");
  int initialized = 0;
  comm::check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
  DDP_CHECK(!initialized, "MPI was initialised before ddp::Runtime; let the Runtime do it");
  // MPI_Init and the communicators below wait for every rank, before any group's watchdog exists:
  // a rank that never starts (stopped, stuck before MPI_Init) would hold the others there for
  // ever.
  std::optional<comm::Watchdog> start_up;
  start_up.emplace("world", start_up_limit());
  start_up->begin({.name = "start-up (MPI_Init and the runtime's communicators)"});
  // Open MPI busy-polls while a rank waits inside a collective. The bucket all-reduces run on a
  // thread beside backward, on the same core when ranks are bound one per core, so the poll
  // takes half the core from the GEMMs (measured: 2 ranks at 2,200-4,000 samples/s against
  // 7,800-10,000 with yielding). Yielding when idle costs nothing on a free core. A value the
  // user set (mpirun --mca, the environment) is kept.
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
  int provided = 0;
  comm::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  runtime_exists = true;
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    runtime_exists = false;
    DDP_THROW(Error,
              "this MPI library does not support MPI_THREAD_MULTIPLE, which ddp needs to "
              "run collectives on background threads; use an MPI built with threads");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  comm::check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  comm::check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &world_size_), "MPI_Comm_size");
  host_ = short_host_name();
  log::set_identity(rank_, world_size_, host_);

  MPI_Comm local = MPI_COMM_NULL;
  comm::check_mpi(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
      "MPI_Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  // A node is known by the world rank of its first rank.
  int node_leader = rank_;
  comm::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &node_leader, 1, MPI_INT, MPI_MIN, local),
                  "MPI_Allreduce");
  MPI_Comm_free(&local);
  learn_the_nodes(node_leader);

  comm::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &failure_comm), "MPI_Comm_dup");
  // Once failure_comm exists: a bad value is then one message, from rank 0.
  const AllReduceAlgorithm all_reduce = all_reduce_algorithm_from_env();
  MPI_Comm world_comm = MPI_COMM_NULL;
  comm::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world_comm), "MPI_Comm_dup");
  world_ = comm::HierarchicalProcessGroup::create(
      std::make_shared<comm::MpiProcessGroup>(world_comm, "world"), node_leader, all_reduce);
  start_up.reset();
  DDP_DEBUG_LOG("runtime up: local rank " << local_rank_ << " of " << local_size_);
}

void Runtime::learn_the_nodes(int node_leader) {
  std::vector<int> leaders(static_cast<std::size_t>(world_size_));
  comm::check_mpi(
      MPI_Allgather(&node_leader, 1, MPI_INT, leaders.data(), 1, MPI_INT, MPI_COMM_WORLD),
      "MPI_Allgather");
  std::map<int, int> ranks_on_node;  // by the node's lowest rank, which orders the nodes
  for (int leader : leaders) ++ranks_on_node[leader];
  for (const auto& [leader, ranks] : ranks_on_node) ranks_per_node_.push_back(ranks);
}

Runtime::~Runtime() {
  world_.reset();
  // Ranks meet before MPI_Finalize: a rank that finished while others still wait for it then waits
  // in an ordinary barrier, where the others' watchdog can end the job with the better message
  // (mpirun 4.1 can crash or hang tearing down a job that has a rank inside MPI_Finalize). The
  // grace beyond the collective timeout lets that watchdog fire first.
  const int failures = count_failures(0, comm::collective_timeout() + kExitGrace);
  if (failures < 0) {
    DDP_ERROR(
        "not every rank reached the end of the program within the collective timeout; "
        "aborting the job");
    abort_job(1);
  }
  if (failures > 0) {
    // Another rank failed: it says why and ends the job; this one only makes sure it ends.
    std::this_thread::sleep_for(kFailureAgreementTime);
    abort_job(1);
  }
  finalize_mpi();
}

void Runtime::abort_job(int exit_code) {
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

int run_program(int argc, char** argv, const std::function<int(Runtime&)>& body) {
  std::optional<Runtime> runtime;
  try {
    runtime.emplace(argc, argv);
    return body(*runtime);
  } catch (const std::exception& error) {
    int exit_code = dynamic_cast<const InvalidArgument*>(&error) != nullptr ? 2 : 1;
    auto report = [&] {
      std::fprintf(stderr, "%s error: %s\n", log::prefix().c_str(), error.what());
    };
    // Before MPI was up there is no one to agree with: every rank says it.
    if (failure_comm == MPI_COMM_NULL) {
      report();
      return exit_code;
    }
    // From here also when the Runtime itself failed once MPI was up (a bad DDP_* variable).
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (count_failures(1, kFailureAgreementTime) == size) {
      // Every rank failed the same way (a bad flag): one message, and a clean exit everywhere.
      if (rank == 0) {
        tell_launcher_ranks_agreed(exit_code);
        report();
      }
      std::fflush(stderr);
      if (runtime) {
        runtime.reset();
      } else {
        finalize_mpi();
      }
      return exit_code;
    }
    report();
    std::fflush(stderr);
    Runtime::abort_job(exit_code);
  }
}

}  // namespace ddp
