#!/usr/bin/env bash
# The benchmark tools as a user runs them, on small sizes: each must finish, print the columns its
# README section names, and hold figures that make sense (the benchmarks check their own sums and
# that the model learned; this checks what they print).
# Usage: bench_test.sh MODE MPIEXEC DDP_BENCH DDP_TRAIN SCALING_SCRIPT
#   MODE: step | allreduce | overlap | project | scaling | scaling_bad_input
set -u
mode=$1 mpiexec=$2 bench=$3 train=$4 scaling=$5
fail() { echo "FAILED: $*"; exit 1; }
run() {
  echo "+ $*"
  output=$(timeout -k 5 120 "$@" 2>&1)
  status=$?
  echo "$output"
  [ "$status" -eq 0 ] || fail "exit status $status"
}
# The value of column NAME in the CSV row that ROW_MATCH (a grep pattern) selects.
csv_value() {
  local csv=$1 name=$2 row_match=$3
  awk -F, -v name="$name" -v pattern="$row_match" '
    NR == 1 { for (i = 1; i <= NF; ++i) if ($i == name) column = i; next }
    column && $0 ~ pattern { print $column; exit }' <<<"$csv"
}
csv_rows() { grep -E -c "$1" <<<"$2"; }
# Whether awk's expression EXPR holds for x = VALUE.
holds() { awk -v x="$1" "BEGIN { exit !($2) }"; }

case "$mode" in
  step)
    # An MLP, a CNN (convolutions, BatchNorm, pooling) and a GPT (tokens in, logits per token
    # out, batched attention GEMMs): the GEMMs of each are recorded.
    for model in mlp:64,256,10 cnn:4,8:16 gpt:layers=1,heads=2,dim=16,context=8; do
      run "$bench" step --model "$model" --iters 5 --warmup 1 --format csv
      csv=$(grep -E '^(step_ms|[0-9])' <<<"$output")
      [ "$(csv_rows '^[0-9]' "$csv")" -eq 1 ] || fail "expected one row of figures"
      step=$(csv_value "$csv" step_ms '^[0-9]')
      gemm=$(csv_value "$csv" gemm_ms '^[0-9]')
      update=$(csv_value "$csv" update_ms '^[0-9]')
      ratio=$(csv_value "$csv" ratio '^[0-9]')
      for v in "$step" "$gemm" "$update" "$ratio"; do
        holds "$v" 'x > 0' || fail "a time or ratio is not positive: '$v'"
      done
      holds "$update" "x < $step" || fail "update_ms $update is not inside step_ms $step"
      # Each figure is printed to 0.0005: the ratio lies between the quotients at those bounds.
      holds "$ratio" "x >= ($step - 0.0005) / ($gemm + 0.0005) - 0.0005 &&
                      x <= ($step + 0.0005) / ($gemm - 0.0005) + 0.0005" ||
        fail "ratio $ratio is not step_ms / gemm_ms ($step / $gemm)"
    done
    ;;
  allreduce)
    run "$mpiexec" -n 2 "$bench" allreduce --max-bytes 65536 --iters 3 --warmup 1 --trials 1 \
      --format csv
    csv=$(grep -E '^(bytes|[0-9])' <<<"$output")
    # 4 B to 64 KiB, doubling: 15 sizes, each with no wrong element.
    [ "$(csv_rows '^[0-9]' "$csv")" -eq 15 ] || fail "expected 15 sizes"
    errors=$(awk -F, 'NR > 1 { sum += $NF } END { print sum }' <<<"$csv")
    [ "$(head -1 <<<"$csv" | awk -F, '{ print $NF }')" = errors ] && [ "$errors" = 0 ] ||
      fail "wrongly reduced elements: '$errors'"
    ;;
  overlap)
    run "$mpiexec" -n 2 "$bench" overlap --model mlp:64,128,128,4 --bucket-cap-mb 0.01 \
      --first-bucket-cap-mb 0.01 --iters 3 --warmup 1 --trials 1
    grep -q "2 ranks, .*gradient elements differing across ranks: 0" <<<"$output" ||
      fail "the summary line does not report 2 ranks and no differing elements"
    grep -E -q '^ *best ' <<<"$output" || fail "no best row"
    buckets=$(awk '$1 == "best" { print $8 }' <<<"$output")
    holds "$buckets" 'x >= 2' || fail "expected several buckets at a 0.01 MiB cap, got '$buckets'"
    ;;
  project)
    run "$bench" project --compute-ms 10 --ranks 8,64,4096 --network ib
    rows=$(awk '$1 ~ /^[0-9]+$/' <<<"$output")
    [ "$(wc -l <<<"$rows")" -eq 3 ] || fail "expected a row for each of 3 rank counts"
    while read -r ranks _ _ _ step efficiency _; do
      holds "$step" 'x >= 10' || fail "$ranks ranks: a step of $step ms, under the 10 ms of compute"
      holds "$efficiency" 'x > 0 && x <= 1' || fail "$ranks ranks: efficiency $efficiency"
    done <<<"$rows"
    ;;
  scaling)
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    plots=--no-plots
    command -v gnuplot >/dev/null && plots=
    run "$scaling" --ranks 1,2 --model mlp:32,64,4 --per-rank-batch 16 --global-batch 32 \
      --steps 20 --trials 1 --ddp-train "$train" --out "$out" $plots
    csv=$(cat "$out/scaling.csv") || fail "no scaling.csv"
    echo "$csv"
    for row in '^weak,1,16,' '^weak,2,32,' '^strong,1,32,' '^strong,2,32,'; do
      [ "$(csv_rows "$row" "$csv")" -eq 1 ] || fail "no CSV row matches $row"
      holds "$(csv_value "$csv" samples_per_s "$row")" 'x > 0' || fail "$row: no samples/s"
    done
    [ "$(csv_value "$csv" efficiency '^weak,1,')" = 1.000 ] || fail "1 rank's efficiency is not 1"
    holds "$(csv_value "$csv" ceiling '^weak,2,')" 'x > 0' || fail "2 ranks have no ceiling"
    grep -q '^| weak | 2 | 32 |' "$out/scaling.md" || fail "scaling.md has no 2-rank weak row"
    if [ -z "$plots" ]; then
      for png in scaling_throughput.png scaling_efficiency.png; do
        [ -s "$out/$png" ] || fail "gnuplot is here but $png was not written"
      done
    fi
    ;;
  scaling_bad_input)
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    echo "the last run's" >"$out/scaling.csv"
    expect_error() {
      local expected_status=$1 pattern=$2
      shift 2
      echo "+ $scaling --out $out --no-plots $*"
      output=$(timeout -k 5 60 "$scaling" --out "$out" --no-plots "$@" 2>&1)
      status=$?
      echo "$output"
      [ "$status" -eq "$expected_status" ] || fail "exit status $status, expected $expected_status"
      grep -q -- "$pattern" <<<"$output" || fail "no line matches '$pattern'"
      [ "$(cat "$out/scaling.csv")" = "the last run's" ] || fail "$out/scaling.csv was changed"
    }
    expect_error 2 "^scaling: --ranks '1,x' must be positive integers" --ranks 1,x
    expect_error 2 "^scaling: --steps '0' must be a positive integer" --steps 0
    expect_error 2 "^scaling: --bucket-mb needs a value" --bucket-mb
    # A training that fails, at the first rank count and in the ceiling's independent runs.
    expect_error 1 "^scaling: ddp-train failed (weak, 1 ranks, global batch 16)" --ranks 1,2 \
      --model mlp:32,64,4 --per-rank-batch 16 --steps 5 --trials 1 --ddp-train /bin/false
    fails_alone=$out/fails_alone
    # shellcheck disable=SC2016  # the $ words are the script's own, expanded when it runs
    printf '#!/bin/sh\n[ -n "$OMPI_COMM_WORLD_RANK" ] || exit 3\nexec "%s" "$@"\n' "$train" \
      >"$fails_alone"
    chmod +x "$fails_alone"
    expect_error 1 "^scaling: ddp-train failed (one of 1 independent one-rank runs)" --ranks 1,2 \
      --model mlp:32,64,4 --per-rank-batch 16 --steps 5 --trials 1 --ddp-train "$fails_alone"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
echo PASSED
