#!/usr/bin/env bash
# The programs in examples/ as a user runs them:
#   tutorial NP     every global batch of 30 is seen whole ("Outside: ... [30, 2]", the last [10, 2])
#                   and each rank's slice has torch.chunk's size
#   collectives NP  every primitive's result checked by the program itself
#   residual        the model written outside the library reaches >= 97% validation accuracy at 2
#                   ranks
#   residual_ranks  its parameters after 2 epochs at 3 ranks equal one process's to float32
#                   rounding (the same global batches, summed in another order)
# Usage: examples_test.sh MPIEXEC EXAMPLES_DIR COMPARE_PARAMS MODE [NP]
set -euo pipefail
mpiexec=$1 examples=$2 compare=$3 mode=$4 np=${5:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; cat "$work/out" 2>/dev/null || true; exit 1; }

case "$mode" in
  tutorial)
    "$mpiexec" -n "$np" "$examples/example-tutorial" >"$work/out"
    grep -q "^Let's use $np processes!" "$work/out" || fail "no greeting for $np processes"
    [ "$(grep -c '^Outside: input size \[30, 5\] output_size \[30, 2\]$' "$work/out")" = 3 ] ||
      fail "expected three whole batches of 30"
    grep -q '^Outside: input size \[10, 5\] output_size \[10, 2\]$' "$work/out" ||
      fail "expected the last batch of 10 whole"
    # torch.chunk's largest slice of 30 over np ranks, seen three times per rank that gets one.
    largest=$(( (30 + np - 1) / np ))
    grep -q "In Model: input size \[$largest, 5\] output size \[$largest, 2\]" "$work/out" ||
      fail "no rank saw a slice of $largest rows"
    ;;
  collectives)
    "$mpiexec" -n "$np" "$examples/example-collectives" >"$work/out"
    grep -q "over $np ranks: correct" "$work/out" || fail "the collectives were not all correct"
    ;;
  residual)
    "$mpiexec" -n 2 "$examples/example-residual-network" >"$work/out"
    accuracy=$(sed -n 's/^epoch 5: .*val accuracy \([0-9.]*\)%$/\1/p' "$work/out")
    [ -n "$accuracy" ] || fail "no fifth epoch's accuracy"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 97) }' || fail "accuracy $accuracy% is below 97%"
    echo "validation accuracy $accuracy% at 2 ranks"
    ;;
  residual_ranks)
    "$mpiexec" -n 1 "$examples/example-residual-network" --epochs 2 \
      --export-params "$work/one.bin" >"$work/out"
    "$mpiexec" -n 3 "$examples/example-residual-network" --epochs 2 \
      --export-params "$work/three.bin" >"$work/out"
    "$compare" "$work/three.bin" "$work/one.bin" 1e-5 1e-6 || fail "3 ranks differ from one process"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
echo PASSED
