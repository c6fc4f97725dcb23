#include "collective_checks.hpp"

namespace ddp::comm {

void check_root(int root, int size, const char* collective) {
  DDP_CHECK(0 <= root && root < size,
            collective << ": root " << root << " is not a rank of a group of " << size);
}

void check_reduction(const Tensor& input, const Tensor& output, ReduceOp op,
                     const char* collective) {
  DDP_CHECK(input.dtype() == output.dtype(), collective << ": input is " << to_string(input.dtype())
                                                        << ", output "
                                                        << to_string(output.dtype()));
  DDP_CHECK(
      op != ReduceOp::avg || is_floating(input.dtype()),
      collective << " with avg needs a floating-point tensor, got " << to_string(input.dtype()));
}

std::int64_t check_counts(const Counts& counts, int size, const char* collective) {
  DDP_CHECK(counts.size() == static_cast<std::size_t>(size),
            collective << ": " << counts.size() << " counts for a group of " << size);
  std::int64_t total = 0;
  for (std::int64_t count : counts) {
    DDP_CHECK(count >= 0, collective << ": count " << count << " is negative");
    total += count;
  }
  return total;
}

void check_all_reduce(const Tensor& input, const Tensor& output, ReduceOp op) {
  check_reduction(input, output, op, "all_reduce");
  DDP_CHECK(input.numel() == output.numel(),
            "all_reduce: input has " << input.numel() << " elements, output " << output.numel());
}

void check_all_gather(const Tensor& input, const Tensor& output, int size) {
  DDP_CHECK(input.dtype() == output.dtype() && output.numel() == input.numel() * size,
            "all_gather: output must hold " << size << " x " << input.numel() << " "
                                            << to_string(input.dtype()) << " elements, has "
                                            << output.numel() << " " << to_string(output.dtype()));
}

std::int64_t check_all_gatherv(const Tensor& input, const Tensor& output, const Counts& counts,
                               int rank, int size) {
  std::int64_t total = check_counts(counts, size, "all_gatherv");
  DDP_CHECK(
      input.numel() == counts[rank] && output.numel() == total && input.dtype() == output.dtype(),
      "all_gatherv: rank " << rank << " sends " << input.numel() << " elements for count "
                           << counts[rank] << " into an output of " << output.numel()
                           << " for a total of " << total);
  return total;
}

std::int64_t check_gatherv(const Tensor& input, const Tensor& output, const Counts& counts,
                           int root, int rank, int size) {
  check_root(root, size, "gatherv");
  std::int64_t total = check_counts(counts, size, "gatherv");
  DDP_CHECK(input.numel() == counts[rank], "gatherv: rank " << rank << " sends " << input.numel()
                                                            << " elements for count "
                                                            << counts[rank]);
  DDP_CHECK(rank != root || (output.numel() == total && output.dtype() == input.dtype()),
            "gatherv: the root's output must hold " << total << " " << to_string(input.dtype())
                                                    << " elements, has " << output.numel());
  return total;
}

std::int64_t check_scatterv(const Tensor& input, const Tensor& output, const Counts& counts,
                            int root, int rank, int size) {
  check_root(root, size, "scatterv");
  std::int64_t total = check_counts(counts, size, "scatterv");
  DDP_CHECK(output.numel() == counts[rank], "scatterv: rank "
                                                << rank << " receives into " << output.numel()
                                                << " elements for count " << counts[rank]);
  DDP_CHECK(rank != root || (input.numel() == total && output.dtype() == input.dtype()),
            "scatterv: the root's input must hold " << total << " " << to_string(output.dtype())
                                                    << " elements, has " << input.numel());
  return total;
}

void check_reduce_scatter(const Tensor& input, const Tensor& output, ReduceOp op, int size) {
  check_reduction(input, output, op, "reduce_scatter");
  DDP_CHECK(input.numel() == output.numel() * size, "reduce_scatter: input must hold "
                                                        << size << " x " << output.numel()
                                                        << " elements, has " << input.numel());
}

}  // namespace ddp::comm
