// The process-group primitives every rank calls together: all_reduce, broadcast, and DataParallel's
// scatter and gather across ranks. Each rank checks what it received; exit 1 on a wrong value.
//   mpirun -np 2 build/examples/example-collectives
#include <iostream>

#include "ddp/comm/runtime.hpp"
#include "ddp/parallel/data_parallel.hpp"

using namespace ddp;

int main(int argc, char** argv) {
  return run_program(argc, argv, [](Runtime& runtime) {
    ProcessGroup& world = *runtime.world();
    const int rank = world.rank(), n = world.size();

    // all_reduce: every rank contributes rank + 1; all receive 1 + 2 + ... + n.
    Tensor sum = Tensor::from_vector<float>({static_cast<float>(rank + 1)}, {1});
    world.all_reduce(sum, ReduceOp::sum);
    DDP_CHECK(sum.data<float>()[0] == n * (n + 1) / 2.0f, "all_reduce gave a wrong sum");

    // broadcast: rank 0's values replace everyone's.
    Tensor values = Tensor::from_vector<float>({rank * 10.0f, rank * 10.0f + 1}, {2});
    world.broadcast(values, /*root=*/0);
    DDP_CHECK(values.data<float>()[0] == 0.0f && values.data<float>()[1] == 1.0f,
              "broadcast did not deliver rank 0's values");

    // scatter: rank 0's 7 rows cut as torch.chunk cuts them (7 over 2 ranks is 4 and 3).
    std::vector<float> rows;
    for (int i = 0; i < 7; ++i) rows.insert(rows.end(), {1.0f * i, 1.0f * i * i});
    Tensor mine = parallel::scatter(world, Tensor::from_vector(rows, {7, 2}), /*root=*/0);
    std::cout << "rank " << rank << " got rows " << to_string(mine.shape()) << std::endl;

    // gather: the rows again, whole on rank 0, after each rank doubled its own.
    float* data = mine.data<float>();
    for (std::int64_t i = 0; i < mine.numel(); ++i) data[i] *= 2;
    Tensor whole = parallel::gather(world, mine, /*root=*/0);
    if (rank == 0) {
      for (std::size_t i = 0; i < rows.size(); ++i) {
        DDP_CHECK(whole.data<float>()[i] == 2 * rows[i], "gather returned a wrong element " << i);
      }
      std::cout << "all_reduce " << sum.data<float>()[0] << ", broadcast, scatter and gather of "
                << to_string(whole.shape()) << " over " << n << " ranks: correct" << std::endl;
    }
    return 0;
  });
}
