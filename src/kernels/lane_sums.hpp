// Sums of many float terms in double on the CPU (private to src/kernels).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ddp::kernels::detail {

// The sums over i in [0, n) of term(i), a std::array<double, K> of K terms, each over kLanes
// independent partial sums: one chain would wait on the previous add for every element, lanes let
// the compiler vectorise without reassociating.
template <std::size_t K, typename Term>
std::array<double, K> lane_sums(std::int64_t n, Term term) {
  constexpr std::int64_t kLanes = 8;
  std::array<std::array<double, kLanes>, K> lanes{};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t j = 0; j < kLanes; ++j) {
      const std::array<double, K> terms = term(i + j);
      for (std::size_t k = 0; k < K; ++k) lanes[k][j] += terms[k];
    }
  }
  std::array<double, K> totals{};
  for (; i < n; ++i) {
    const std::array<double, K> terms = term(i);
    for (std::size_t k = 0; k < K; ++k) totals[k] += terms[k];
  }
  for (std::size_t k = 0; k < K; ++k) {
    for (double lane : lanes[k]) totals[k] += lane;
  }
  return totals;
}

}  // namespace ddp::kernels::detail
