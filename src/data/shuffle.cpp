#include "ddp/data/shuffle.hpp"

#include <numeric>
#include <utility>

#include "ddp/core/error.hpp"
#include "ddp/core/random.hpp"

namespace ddp::data {

std::vector<std::int64_t> epoch_order(std::int64_t size, bool shuffle, std::uint64_t seed,
                                      std::int64_t epoch) {
  DDP_CHECK(size >= 0 && epoch >= 0,
            "epoch_order: size " << size << " and epoch " << epoch << " must not be negative");
  std::vector<std::int64_t> order(static_cast<std::size_t>(size));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!shuffle) return order;
  Generator generator(derive_seed(seed, static_cast<std::uint64_t>(epoch)));
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[generator.uniform_int(i)]);
  }
  return order;
}

}  // namespace ddp::data
