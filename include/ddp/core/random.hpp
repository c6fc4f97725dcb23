// Generator: a small seeded random stream (xoshiro256**) whose sequence is the same on every
// machine and compiler, so every rank can derive the same data and initial weights without talking.
#pragma once

#include <array>
#include <cstdint>

namespace ddp {

class Generator {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Generator(std::uint64_t seed = 0);

  std::uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits, exactly representable as a float.
  float uniform();
  float uniform(float low, float high) { return low + (high - low) * uniform(); }
  // Uniform in [0, n), without modulo bias.
  std::uint64_t uniform_int(std::uint64_t n);
  // Standard normal by Box-Muller, computed in double then rounded.
  float normal();
  // The state draws next_u64() calls on, in at most 64 jumps (random_jump.hpp), not draws steps.
  void discard(std::uint64_t draws);

  // The whole state, for checkpoints: restoring it continues the same sequence.
  State state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  State state_{};
};

// A seed for an independent stream, e.g. derive_seed(seed, rank) for per-rank dropout masks.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace ddp
