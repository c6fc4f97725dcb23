#!/usr/bin/env bash
# Installs what is missing (Slurm included, for the tests that submit a batch job to a one-node
# cluster they start; Debian's PyTorch, the oracle of tests/pytorch; gnuplot, for
# e2e.plot_metrics; Fashion-MNIST and fortunes, for e2e.train.fashion_mnist and e2e.train.fortunes),
# builds ddp with warnings as errors, runs the whole test suite, then builds the unit tests with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs them too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh" --with-slurm --with-pytorch --with-plots --with-datasets
"$root/launch/build.sh" "$root/build"
# The Slurm tests (label slurm) skip themselves without slurm-wlm or root, the PyTorch tests (label
# pytorch) without /usr/bin/python3 importing torch and numpy, e2e.train.fashion_mnist and
# e2e.train.fortunes without their datasets; having installed them, as root (CI) a skip would hide
# a broken test, so it fails instead.
[ "$(id -u)" -ne 0 ] ||
  export DDP_TEST_REQUIRE_SLURM=1 DDP_TEST_REQUIRE_PYTORCH=1 DDP_TEST_REQUIRE_DATASETS=1
(cd "$root/build" && ctest --output-on-failure -j"$(nproc)" --timeout 600)

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Host code only: the CUDA runtime does not run under ASan's default shadow mapping, and the
# build above already compiles every kernel.
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DDDP_WERROR=ON \
  -DDDP_SANITIZE=address,undefined -DDDP_BUILD_BENCHMARKS=OFF -DDDP_WITH_CUDA=OFF >/dev/null
cmake --build "$root/build-asan" -j"$(nproc)" --target ddp_unit_tests
(cd "$root/build-asan" && ctest --output-on-failure -j"$(nproc)" -L unit)
