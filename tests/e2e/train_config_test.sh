#!/usr/bin/env bash
# ddp-train reads its options from the command line, DDP_* variables and --config, in that order
# of precedence: a config file sets --max-steps 7, DDP_MAX_STEPS overrides it, the command line
# overrides both; the summary's step count says which one won.
set -euo pipefail
mpiexec=$1 train=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '# steps and data for a short run\nmax-steps = 7\ndata = synthetic:1000\n' > "$work/run.ini"
steps_of() {
  timeout -k 5 60 "$mpiexec" --quiet -n 2 "$train" --config "$work/run.ini" --progress lines \
    --metrics-out "$work/metrics.jsonl" "$@" > /dev/null
  grep '"event": "summary"' "$work/metrics.jsonl" | sed 's/.*"steps": \([0-9]*\).*/\1/'
}
from_file=$(steps_of)
from_env=$(DDP_MAX_STEPS=5 steps_of)
from_flag=$(DDP_MAX_STEPS=5 steps_of --max-steps 3)
echo "config file: $from_file steps; DDP_MAX_STEPS=5: $from_env; --max-steps 3: $from_flag"
[ "$from_file $from_env $from_flag" = "7 5 3" ] || { echo "FAILED: expected 7 5 3"; exit 1; }
echo PASSED
