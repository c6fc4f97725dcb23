// The order in which one epoch visits the samples: the same on every rank, whatever the world size.
#pragma once

#include <cstdint>
#include <vector>

namespace ddp::data {

// 0..size-1, or with shuffle a Fisher-Yates permutation drawn from Generator(derive_seed(seed,
// epoch)), so each epoch is reshuffled and every rank computes the same order without talking.
std::vector<std::int64_t> epoch_order(std::int64_t size, bool shuffle, std::uint64_t seed,
                                      std::int64_t epoch);

}  // namespace ddp::data
