#include "mpi_types.hpp"

#include <climits>
#include <string>

#include "ddp/core/bfloat16.hpp"
#include "ddp/core/error.hpp"

namespace ddp::comm {
namespace {

// MPI_User_function for bfloat16 sums: inout[i] = bf16(float(in[i]) + float(inout[i])).
void bfloat16_sum(void* in, void* inout, int* count, MPI_Datatype*) {
  const auto* a = static_cast<const std::uint16_t*>(in);
  auto* b = static_cast<std::uint16_t*>(inout);
  for (int i = 0; i < *count; ++i) {
    b[i] = float_to_bfloat16(bfloat16_to_float(a[i]) + bfloat16_to_float(b[i]));
  }
}

}  // namespace

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
    case DType::float32:
      return MPI_FLOAT;
    case DType::float64:
      return MPI_DOUBLE;
    case DType::int32:
      return MPI_INT32_T;
    case DType::int64:
      return MPI_INT64_T;
    case DType::bfloat16:
      return MPI_UINT16_T;
    case DType::float16:
      break;
  }
  DDP_THROW(Error, "the MPI backend does not reduce " << to_string(dtype)
                                                      << " tensors yet; use float32 or float64");
}

MPI_Op mpi_op(ReduceOp op, DType dtype) {
  if (dtype == DType::bfloat16) {
    DDP_CHECK(op == ReduceOp::sum, "the MPI backend reduces bfloat16 tensors by sum only, not "
                                       << to_string(op) << "; convert to float32 for that");
    // Created once, on first use (after MPI_Init); commutative, so MPI may reorder the operands.
    static const MPI_Op bf16_sum = [] {
      MPI_Op created = MPI_OP_NULL;
      check_mpi(MPI_Op_create(&bfloat16_sum, 1, &created), "MPI_Op_create (bfloat16 sum)");
      return created;
    }();
    return bf16_sum;
  }
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg:
      return MPI_SUM;
    case ReduceOp::min:
      return MPI_MIN;
    case ReduceOp::max:
      return MPI_MAX;
  }
  return MPI_OP_NULL;
}

int mpi_count(std::int64_t count, const char* collective) {
  DDP_CHECK(count >= 0 && count <= INT_MAX, collective << " of " << count
                                                       << " elements exceeds MPI's limit of "
                                                       << INT_MAX << " per rank; split the tensor");
  return static_cast<int>(count);
}

}  // namespace ddp::comm
