// Preloaded into the ranks of a test: a library whose initializer takes 3 s, which leaves a rank as
// long in the state the CUDA libraries' initializers leave it in for some 0.2 s: started, not yet
// in main.
#include <ctime>

namespace {

[[gnu::constructor]] void take_long_to_start() {
  timespec left{3, 0};
  while (nanosleep(&left, &left) != 0) {
  }
}

}  // namespace
