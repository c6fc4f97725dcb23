#!/usr/bin/env bash
# benchmarks/plot_metrics on bad input, then on a short run of ddp-train:
#   a missing file, and a file with no progress events: exit status 2 and one line saying so;
#   a 2-rank run's --metrics-out (2 epochs, validation each): a PNG (its magic bytes), over 1 KB,
#   of the size asked for; also with --title holding quotes and --log.
# Skipped (77) without gnuplot, after the bad-input checks, which do not need it.
# Usage: plot_metrics_test.sh MPIEXEC DDP_TRAIN PLOT_METRICS
set -uo pipefail
mpiexec=$1 train=$2 plot=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

refused() {  # expected message, then plot_metrics' arguments
  local message=$1 output status
  shift
  output=$("$plot" "$@" 2>&1)
  status=$?
  echo "$output"
  [ "$status" -eq 2 ] || fail "exit status $status for '$*', expected 2"
  [ "$(echo "$output" | wc -l)" -eq 1 ] || fail "not one line for '$*'"
  [[ $output == "plot_metrics: $message" ]] || fail "'$output' is not 'plot_metrics: $message'"
  [ ! -e "$work/refused.png" ] || fail "a PNG for '$*'"
}
refused "no file '$work/missing.jsonl'" "$work/missing.jsonl" "$work/refused.png"
echo '{"event": "summary", "steps": 0}' > "$work/summary_only.jsonl"
refused "$work/summary_only.jsonl has no progress events (is it ddp-train --metrics-out's file?)" \
  "$work/summary_only.jsonl" "$work/refused.png"

command -v gnuplot >/dev/null ||
  { echo "SKIPPED: no gnuplot (launch/setup.sh --with-plots installs it)"; exit 77; }
timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" --epochs 2 --log-every 10 --progress lines \
  --metrics-out "$work/metrics.jsonl" > "$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "training"; }

is_png() {  # the file, then its width and height
  [ -f "$1" ] || fail "no $1"
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1 is not a PNG"
  local size
  size=$(wc -c < "$1")
  [ "$size" -gt 1024 ] || fail "$1 has $size bytes"
  # IHDR: width and height, 4 bytes each, big-endian, from byte 16.
  local dimensions
  dimensions=$(od -An -tu1 -j16 -N8 "$1" |
               awk '{print $1*2^24 + $2*2^16 + $3*2^8 + $4, $5*2^24 + $6*2^16 + $7*2^8 + $8}')
  [ "$dimensions" = "900 520" ] || fail "$1 is $dimensions pixels, not 900 520"
  echo "$1: a PNG of $size bytes"
}
"$plot" "$work/metrics.jsonl" "$work/metrics.png" || fail "plot_metrics failed"
is_png "$work/metrics.png"
"$plot" "$work/metrics.jsonl" "$work/titled.png" --title "it's \"quoted\"" --log ||
  fail "plot_metrics --title --log failed"
is_png "$work/titled.png"
echo "PASSED"
