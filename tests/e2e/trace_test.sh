#!/usr/bin/env bash
# --trace as a user runs it, checked with python3's json module:
#   train NP: ddp-train at NP ranks tracing steps 3 to 8 of 12: the file parses; every rank is a
#     process "rank R (host)" with a main lane and a comm lane; every rank recorded steps 3..8 and
#     nothing else; each bucket's all-reduce was queued, started and done inside its step on its
#     rank; backward has a span per layer; on every lane the spans start in order and nest.
#     At 2 ranks benchmarks/plot_trace then draws a step (skipped, 77, without gnuplot).
#   overlap: the same checks on ddp-bench overlap --trace (its last trial's steps 1..iters).
# Usage: trace_test.sh MPIEXEC DDP_TRAIN DDP_BENCH PLOT_TRACE train NP | overlap
set -uo pipefail
mpiexec=$1 train=$2 bench=$3 plot=$4 mode=$5 ranks=${6:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

check() {  # trace file, ranks, first step, last step
  /usr/bin/python3 - "$@" <<'PYTHON' || fail "the trace's checks"
import json, sys

path, ranks, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(path) as f:
    events = json.load(f)["traceEvents"]
errors = []
processes = {e["pid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "process_name"}
threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
           if e["ph"] == "M" and e["name"] == "thread_name"}
spans = [e for e in events if e["ph"] == "X"]
if sorted(processes) != list(range(ranks)):
    errors.append(f"processes {sorted(processes)}, not ranks 0..{ranks - 1}")
buckets_per_step = set()
for rank in range(ranks):
    if not processes.get(rank, "").startswith(f"rank {rank} ("):
        errors.append(f"rank {rank}'s process is named {processes.get(rank)!r}")
    names = sorted(n for (p, _), n in threads.items() if p == rank)
    if "main" not in names or "comm" not in names:
        errors.append(f"rank {rank} has lanes {names}, not main and comm")
    mine = [e for e in spans if e["pid"] == rank]
    steps = {e["args"]["step"]: e for e in mine if e["cat"] == "step"}
    if sorted(steps) != list(range(first, last + 1)):
        errors.append(f"rank {rank} recorded steps {sorted(steps)}, not {first}..{last}")
    if any(e["args"]["step"] not in steps for e in mine):
        errors.append(f"rank {rank} has spans outside the traced steps")
    for number, step in steps.items():
        begin, end = step["ts"], step["ts"] + step["dur"]
        collectives = [e for e in mine if e["cat"] == "collective" and e["args"]["step"] == number]
        buckets_per_step.add(len(collectives))
        for c in collectives:
            queued, started, done = c["args"]["queued_us"], c["ts"], c["ts"] + c["dur"]
            if not (begin <= queued <= started <= done <= end + 0.002):
                errors.append(f"rank {rank} step {number}: {c['name']} queued {queued}, ran "
                              f"{started}..{done}, outside the step {begin}..{end}")
            if threads.get((rank, c["tid"])) != "comm":
                errors.append(f"rank {rank}: {c['name']} is not on a comm lane")
        linear = [e["name"] for e in mine if e["cat"] == "backward"
                  and e["args"]["step"] == number and e["name"].endswith(": Linear")]
        if len(linear) != 3:
            errors.append(f"rank {rank} step {number}: backward of the Linear layers {linear}")
    for tid in {e["tid"] for e in mine}:
        lane = [e for e in mine if e["tid"] == tid]
        open_ends = []
        for a, b in zip(lane, lane[1:]):
            if b["ts"] < a["ts"]:
                errors.append(f"rank {rank} lane {tid}: {b['name']} at {b['ts']} after "
                              f"{a['name']} at {a['ts']}")
        for e in lane:
            if e["dur"] < 0:
                errors.append(f"rank {rank}: {e['name']} lasts {e['dur']}")
            while open_ends and open_ends[-1] <= e["ts"]:
                open_ends.pop()
            if open_ends and e["ts"] + e["dur"] > open_ends[-1] + 0.002:
                errors.append(f"rank {rank} lane {tid}: {e['name']} at {e['ts']} overlaps the "
                              f"end of the span it starts in, {open_ends[-1]}")
            open_ends.append(e["ts"] + e["dur"])
if buckets_per_step == {0} or len(buckets_per_step) != 1:
    errors.append(f"bucket all-reduces per step and rank: {sorted(buckets_per_step)}")
for error in errors[:20]:
    print(error)
if errors:
    sys.exit(1)
print(f"{path}: {len(spans)} spans of {ranks} ranks, steps {first}..{last}, "
      f"{buckets_per_step.pop()} bucket all-reduces per step and rank")
PYTHON
}

case $mode in
  train)
    timeout -k 5 60 "$mpiexec" --quiet -n "$ranks" "$train" --model mlp:32,600,600,10 \
      --data synthetic:2000 --val-fraction 0 --bucket-mb 0.1 --max-steps 12 \
      --trace "$work/trace.json" --trace-steps 3:8 --progress lines > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "training"; }
    grep -q "wrote the timeline of steps 3 to 8 of $ranks ranks" "$work/run.log" ||
      { cat "$work/run.log"; fail "no line saying where the trace went"; }
    check "$work/trace.json" "$ranks" 3 8
    [ "$ranks" -eq 2 ] || { echo "PASSED"; exit 0; }
    command -v gnuplot >/dev/null ||
      { echo "SKIPPED: the plot (no gnuplot; launch/setup.sh --with-plots installs it)"; exit 77; }
    "$plot" "$work/trace.json" "$work/step.png" --step 5 || fail "plot_trace"
    [ "$(od -An -tx1 -N8 "$work/step.png" | tr -d ' \n')" = 89504e470d0a1a0a ] ||
      fail "plot_trace wrote no PNG"
    output=$("$plot" "$work/trace.json" "$work/none.png" --step 11 2>&1)
    [ $? -eq 2 ] && [[ $output == "plot_trace: $work/trace.json has no step 11 of every rank; it has steps 3 to 8" ]] ||
      fail "plot_trace --step 11 said '$output'"
    ;;
  overlap)
    timeout -k 5 60 "$mpiexec" --quiet -n "$ranks" "$bench" overlap --model mlp:32,256,256,10 \
      --bucket-cap-mb 0.1 --first-bucket-cap-mb 0.1 --iters 4 --warmup 1 --trials 1 \
      --trace "$work/trace.json" > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "overlap"; }
    check "$work/trace.json" "$ranks" 1 4
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "PASSED"
