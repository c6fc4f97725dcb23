#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the hostile-file readers (checkpoint, CSV, IDX, config file,
# safetensors) with clang, AddressSanitizer and UndefinedBehaviorSanitizer, replays every input
# that ever failed (tests/fuzz/regressions/<reader>/), then fuzzes each reader for SECONDS from its
# seed corpus (tests/fuzz/corpus/<reader>/). A crash, leak, timeout or undefined behaviour fails
# the run and leaves the input in the build folder's artifacts/: fix the reader, then add the input
# to regressions/<reader>/.
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS]        (default 60 per reader; ctest runs 6)
# Environment: DDP_FUZZ_BUILD_DIR (default <repo>/build-fuzz), DDP_FUZZ_READERS (default all five).
set -euo pipefail
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${DDP_FUZZ_BUILD_DIR:-$root/build-fuzz}
readers=(${DDP_FUZZ_READERS:-checkpoint csv idx config safetensors})

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run_fuzzers.sh: clang++ not found; install clang and libclang-rt-dev (launch/setup.sh)" >&2
  exit 1
fi
# The readers are host code: no CUDA, whatever the machine has.
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDDP_BUILD_FUZZERS=ON -DDDP_BUILD_TESTS=OFF \
  -DDDP_BUILD_BENCHMARKS=OFF -DDDP_WITH_CUDA=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${readers[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limits=(-timeout=10 -rss_limit_mb=2048)
failed=()
for reader in "${readers[@]}"; do
  fuzzer="$build/tests/fuzz/fuzz_$reader"
  work="$build/corpus/$reader"
  artifacts="$build/artifacts/$reader"
  mkdir -p "$work" "$artifacts"
  mapfile -t regressions < <(find "$here/regressions/$reader" -type f 2>/dev/null | sort)
  if [ ${#regressions[@]} -gt 0 ]; then
    echo "== $reader: ${#regressions[@]} regression inputs"
    "$fuzzer" "${limits[@]}" "${regressions[@]}" >"$artifacts/regressions.log" 2>&1 ||
      { cat "$artifacts/regressions.log"; failed+=("$reader (regressions)"); continue; }
  fi
  echo "== $reader: fuzzing for ${seconds}s"
  # New inputs go to the first folder (the build's), so the committed seeds stay as they are.
  if ! "$fuzzer" -max_total_time="$seconds" "${limits[@]}" -artifact_prefix="$artifacts/" \
       -print_final_stats=1 "$work" "$here/corpus/$reader" \
       >"$artifacts/fuzz.log" 2>&1; then
    tail -n 60 "$artifacts/fuzz.log"
    failed+=("$reader")
    continue
  fi
  runs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$artifacts/fuzz.log")
  echo "   $runs inputs run; the corpus in $work now holds $(find "$work" -type f | wc -l)"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}; inputs in $build/artifacts/<reader>/ (crash-*, leak-*, timeout-*)"
  exit 1
fi
echo "PASSED: ${readers[*]}, ${seconds}s each, no crash, leak or undefined behaviour"
