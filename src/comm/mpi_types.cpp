#include "mpi_types.hpp"

#include <climits>
#include <string>

#include "ddp/core/error.hpp"

namespace ddp::comm {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  DDP_THROW(CommError, call << " failed: "
                            << (length > 0 ? std::string(text, length)
                                           : "MPI error code " + std::to_string(code)));
}

MPI_Datatype mpi_datatype(DType dtype) {
  switch (dtype) {
    case DType::float32: return MPI_FLOAT;
    case DType::float64: return MPI_DOUBLE;
    case DType::int32: return MPI_INT32_T;
    case DType::int64: return MPI_INT64_T;
    case DType::bfloat16:
    case DType::float16: break;
  }
  DDP_THROW(Error, "the MPI backend does not reduce " << to_string(dtype)
                                                      << " tensors yet; use float32 or float64");
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg: return MPI_SUM;
    case ReduceOp::min: return MPI_MIN;
    case ReduceOp::max: return MPI_MAX;
  }
  return MPI_OP_NULL;
}

int mpi_count(std::int64_t count, const char* collective) {
  DDP_CHECK(count >= 0 && count <= INT_MAX,
            collective << " of " << count << " elements exceeds MPI's limit of " << INT_MAX
                       << " per rank; split the tensor");
  return static_cast<int>(count);
}

}  // namespace ddp::comm
