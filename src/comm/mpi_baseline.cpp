#include "ddp/comm/mpi_baseline.hpp"

#include <mpi.h>

#include "mpi_types.hpp"

namespace ddp::mpi_baseline {

void all_reduce_loop(const Tensor& tensor, int iterations) {
  MPI_Comm comm = MPI_COMM_NULL;
  comm::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
  int count = comm::mpi_count(tensor.numel(), "baseline MPI_Allreduce");
  MPI_Datatype type = comm::mpi_datatype(tensor.dtype());
  for (int i = 0; i < iterations; ++i) {
    comm::check_mpi(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), count, type, MPI_SUM, comm),
                    "MPI_Allreduce");
  }
  MPI_Comm_free(&comm);
}

}  // namespace ddp::mpi_baseline
