#include "ddp/core/random_jump.hpp"

#include <vector>

#include "ddp/core/error.hpp"

namespace ddp {
namespace {

std::vector<JumpMatrix> make_jump_matrices() {
  std::vector<JumpMatrix> matrices(kJumpPowers);
  // One draw: where each unit state goes.
  for (int i = 0; i < 256; ++i) {
    Generator::State unit{};
    unit[static_cast<std::size_t>(i / 64)] = std::uint64_t{1} << (i % 64);
    Generator g;
    g.set_state(unit);
    g.next_u64();
    matrices[0][static_cast<std::size_t>(i)] = g.state();
  }
  // 2^(k+1) draws: the map of 2^k draws applied twice, column by column.
  for (std::size_t k = 1; k < matrices.size(); ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      matrices[k][i] = jumped(matrices[k - 1][i], matrices[k - 1]);
    }
  }
  return matrices;
}

}  // namespace

const JumpMatrix& jump_matrix(int power) {
  DDP_CHECK(0 <= power && power < kJumpPowers,
            "jump_matrix(" << power << "): the powers of two go from 0 to " << kJumpPowers - 1);
  static const std::vector<JumpMatrix> matrices = make_jump_matrices();
  return matrices[static_cast<std::size_t>(power)];
}

Generator::State jumped(const Generator::State& state, const JumpMatrix& matrix) {
  Generator::State result{};
  for (std::size_t i = 0; i < 256; ++i) {
    if (((state[i / 64] >> (i % 64)) & 1) == 0) continue;
    for (std::size_t w = 0; w < 4; ++w) result[w] ^= matrix[i][w];
  }
  return result;
}

}  // namespace ddp
