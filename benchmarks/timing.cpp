#include "timing.hpp"

#include <algorithm>

#include "ddp/core/error.hpp"

namespace ddp::bench {

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  DDP_CHECK(!values.empty(), "median of no values");
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double slowest(ProcessGroup& group, double value) {
  Tensor t = Tensor::from_vector<double>({value}, {1});
  group.all_reduce(t, ReduceOp::max);
  return t.data<double>()[0];
}

}  // namespace ddp::bench
