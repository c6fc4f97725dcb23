// Jumping a Generator ahead by many draws at once. xoshiro256**'s state moves by a fixed linear map
// over GF(2) at each draw, so 2^k draws are one 256x256 bit matrix, and any count of draws is the
// product of the matrices of its set bits: how a GPU thread starts its share of a dropout mask at
// the draw the CPU would have reached, and how the host then skips the draws the GPU made.
#pragma once

#include <array>
#include <cstdint>

#include "ddp/core/random.hpp"

namespace ddp {

// Column i (four words, bit i of the state being bit i % 64 of word i / 64) is the state that the
// state with only bit i set moves to.
using JumpMatrix = std::array<Generator::State, 256>;

constexpr int kJumpPowers = 64;

// The map of 2^power draws, power in [0, kJumpPowers); made once, on first use.
const JumpMatrix& jump_matrix(int power);

// The state matrix moves state to.
Generator::State jumped(const Generator::State& state, const JumpMatrix& matrix);

}  // namespace ddp
