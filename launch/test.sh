#!/usr/bin/env bash
# Installs what is missing, builds ddp with warnings as errors, runs the whole test suite, then
# builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer and runs them too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure -j"$(nproc)" --timeout 600)

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DDDP_WERROR=ON \
  -DDDP_SANITIZE=address,undefined -DDDP_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$root/build-asan" -j"$(nproc)" --target ddp_unit_tests
(cd "$root/build-asan" && ctest --output-on-failure -j"$(nproc)" -L unit)
