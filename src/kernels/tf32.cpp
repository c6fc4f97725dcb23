#include "ddp/kernels/tf32.hpp"

#include <atomic>

namespace ddp::kernels {
namespace {

std::atomic<bool> tf32_allowed{false};

}  // namespace

void set_allow_tf32(bool allow) {
  tf32_allowed.store(allow, std::memory_order_relaxed);
}

bool allow_tf32() {
  return tf32_allowed.load(std::memory_order_relaxed);
}

}  // namespace ddp::kernels
