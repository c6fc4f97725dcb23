#!/usr/bin/env bash
# ddp-train at 2 ranks on --data text:fortunes (Debian's fortunes: the text files of
# /usr/share/games/fortunes, not the .dat indexes or .u8 links) with the bigram language model:
# the run cuts the corpus into floor((N - 1) / 64) windows of 64 bytes, holds out the last 2 % for
# validation, and reports its loss per token and bits per byte (loss / ln 2), which a few dozen
# AdamW steps bring well below the 8 bits of a uniform guess.
# Skipped (77) when fortunes is not installed, unless DDP_TEST_REQUIRE_DATASETS=1 (launch/test.sh
# installs it with launch/setup.sh --with-datasets and sets that as root).
# Usage: train_fortunes_test.sh MPIEXEC DDP_TRAIN
set -euo pipefail
mpiexec=$1 train=$2
folder="${DDP_FORTUNES_DIR:-/usr/share/games/fortunes}"
if [ ! -f "$folder/fortunes" ]; then
  why="fortunes is not installed in $folder (launch/setup.sh --with-datasets)"
  [ "${DDP_TEST_REQUIRE_DATASETS:-0}" = 1 ] && { echo "FAILED: $why"; exit 1; }
  echo "SKIPPED: $why"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bytes=$(find "$folder" -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' -exec cat {} + | wc -c)
windows=$(( (bytes - 1) / 64 ))
val=$(awk -v n="$windows" 'BEGIN { printf "%d", n * 0.02 + 0.5 }')
timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" --progress lines --threads 1 --model bigram:64 \
  --data text:fortunes --val-fraction 0.02 --batch-size 32 --max-steps 40 --optimizer adamw \
  --lr 0.2 --metrics-out "$work/metrics.jsonl" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
cat "$work/log"
fail() { echo "FAILED: $*"; exit 1; }
grep -q "$(( windows - val )) training and $val validation samples" "$work/log" ||
  fail "not $(( windows - val )) training and $val validation windows of $bytes bytes"
grep -q "^epoch 1: .* val loss [0-9.]* per token  [0-9.]* bits/byte" "$work/log" ||
  fail "no epoch line with the loss per token and bits per byte"
summary=$(grep '"event": "summary"' "$work/metrics.jsonl")
python3 - "$summary" <<'PY' || fail "the summary's bits per byte"
import json, math, sys
s = json.loads(sys.argv[1])
bpb, loss = s["val_bits_per_byte"], s["val_loss"]
print(f"val loss {loss:.4f} per token, {bpb:.4f} bits/byte")
assert abs(bpb - loss / math.log(2)) < 1e-5 and bpb < 6.0
PY
echo "PASSED"
