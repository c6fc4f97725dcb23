#!/usr/bin/env bash
# The Slurm batch script on a one-node Slurm cluster that this test brings up in a scratch folder
# (slurmctld and slurmd, no munge: auth/none) and always takes down: a 2-rank job submitted with
# sbatch --wait must end COMPLETED with exit code 0 and leave the expected results.
# CHECK is one of
#   summary  the program gets --metrics-out FILE, and FILE must end with a "summary" record;
#   stop     PROGRAM is ddp-train, given --checkpoint-dir and --metrics-out; once it reports
#            progress, the batch shell gets SIGTERM (as from --signal=B:TERM@120); the ranks must
#            stop after the same step with a checkpoint and the job still end COMPLETED;
#   scaling  PROGRAM is benchmarks/scaling, submitted with sbatch --wrap as the README shows (the
#            batch script is not used): given --out, it must write a row for each rank count of
#            the allocation (1 and 2) in each mode, and no ceiling (that needs one machine alone).
# Needs slurm-wlm (launch/setup.sh --with-slurm) and root, for slurmd; without them it exits 77,
# which ctest reports as skipped, unless DDP_TEST_REQUIRE_SLURM=1 (launch/test.sh) makes it fail.
# Usage: slurm_test.sh SBATCH_SCRIPT CHECK PROGRAM [ARGS...]
set -euo pipefail
batch_script=$1 check=$2 program=$3
shift 3
program_args=("$@")

fail() { echo "FAILED: $*"; exit 1; }
unavailable() {
  [ "${DDP_TEST_REQUIRE_SLURM:-0}" = 1 ] && fail "$*"
  echo "SKIPPED: $*"
  exit 77
}
for tool in slurmctld slurmd sbatch sinfo scontrol squeue scancel; do
  command -v "$tool" >/dev/null ||
    unavailable "no $tool; install Slurm with launch/setup.sh --with-slurm"
done
[ "$(id -u)" -eq 0 ] || unavailable "slurmd must run as root here"
case "$check" in
  summary | stop | scaling) ;;
  *) fail "CHECK '$check' is not summary, stop or scaling" ;;
esac

start=$(date +%s)
scratch=$(mktemp -d)
daemon_pids=()
sbatch_pid=
cleanup() {
  [ -z "$sbatch_pid" ] || kill -TERM "$sbatch_pid" 2>/dev/null || true
  # Jobs first (their processes belong to slurmd's step daemons), then the daemons, each bounded.
  if [ ${#daemon_pids[@]} -gt 0 ]; then
    timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 20); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
    kill -TERM "${daemon_pids[@]}" 2>/dev/null || true
    for _ in $(seq 20); do
      kill -0 "${daemon_pids[@]}" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "${daemon_pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
on_failure() {
  for log in slurmctld.log slurmd.log job.err; do
    [ -f "$scratch/$log" ] && { echo "== $log (end)"; tail -n 20 "$scratch/$log"; }
  done
}

# A port nothing listens on, picked at random so that concurrent runs do not collide.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  fail "no free port found"
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))
host=$(hostname -s)
mkdir -p "$scratch/state" "$scratch/spool"
export SLURM_CONF=$scratch/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=ddptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# An ended job's record stays this long, for scontrol show job (there is no accounting database).
MinJobAge=600
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/slurmctld.log
SlurmdLogFile=$scratch/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=ddp Nodes=$host Default=YES MaxTime=10 State=UP
EOF

# In the foreground (-D) as children of this script, so that cleanup knows their pids.
slurmctld -D -f "$SLURM_CONF" >"$scratch/slurmctld.stdout" 2>&1 &
daemon_pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$scratch/slurmd.stdout" 2>&1 &
daemon_pids+=($!)

state=
for _ in $(seq 60); do
  state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  kill -0 "${daemon_pids[@]}" 2>/dev/null || { on_failure; fail "a Slurm daemon ended"; }
  sleep 0.5
done
[ "$state" = idle ] || { on_failure; fail "node $host is '${state:-not known}' after 30 s, not idle"; }
echo "one-node Slurm cluster up in $(( $(date +%s) - start ))s (ports $ctld_port, $slurmd_port)"

case "$check" in
  summary) program_args+=(--metrics-out "$scratch/metrics.jsonl") ;;
  stop) program_args+=(--metrics-out "$scratch/metrics.jsonl" --checkpoint-dir "$scratch/checkpoints") ;;
  scaling) program_args+=(--out "$scratch/results") ;;
esac
if [ "$check" = scaling ]; then
  submission=(--wrap "$(printf '%q ' "$program" "${program_args[@]}")")
else
  submission=("$batch_script" "${program_args[@]}")
fi
# sbatch --wait returns the job's exit status once the job has ended; it prints the job id first.
submitted=$(date +%s)
DDP_PROGRAM=$program timeout -k 5 90 sbatch --parsable --wait --nodes=1 --ntasks-per-node=2 \
  --time=2 --chdir="$scratch" --output="$scratch/job.out" --error="$scratch/job.err" \
  "${submission[@]}" >"$scratch/sbatch.out" &
sbatch_pid=$!
if [ "$check" = stop ]; then
  # Once training runs, what --signal=B:TERM@120 does near the time limit: SIGTERM to the batch
  # shell alone (scancel --batch), which must stop the ranks through SIGUSR1.
  for _ in $(seq 120); do
    grep -q '"event": "progress"' "$scratch/metrics.jsonl" 2>/dev/null && break
    kill -0 "$sbatch_pid" 2>/dev/null || break
    sleep 0.25
  done
  grep -q '"event": "progress"' "$scratch/metrics.jsonl" 2>/dev/null ||
    { on_failure; fail "no training progress after 30 s"; }
  timeout 10 scancel --batch --signal=TERM "$(squeue -h -o %i)"
fi
sbatch_status=0
wait "$sbatch_pid" || sbatch_status=$?
job_id=$(cut -d';' -f1 "$scratch/sbatch.out")
echo "job ${job_id:-?} ended in $(( $(date +%s) - submitted ))s, sbatch --wait status $sbatch_status"
[ -n "$job_id" ] || { on_failure; fail "sbatch gave no job id"; }
job=$(timeout 5 scontrol show job "$job_id") || { on_failure; fail "scontrol knows no job $job_id"; }
job_state=$(grep -o 'JobState=[A-Z_]*' <<<"$job" || true)
exit_code=$(grep -o ' ExitCode=[0-9:]*' <<<"$job" || true)
echo "$job_state$exit_code"
if [ "$sbatch_status" -ne 0 ] || [ "$job_state" != JobState=COMPLETED ] ||
   [ "$exit_code" != " ExitCode=0:0" ]; then
  on_failure
  fail "the job did not complete cleanly"
fi
if [ "$check" != scaling ]; then
  grep -q '^+ mpirun -n 2 ' "$scratch/job.err" || { on_failure; fail "the job printed no mpirun line"; }
fi

case "$check" in
  summary)
    [ -s "$scratch/metrics.jsonl" ] || fail "the job wrote no metrics file"
    tail -n 1 "$scratch/metrics.jsonl" | grep -q '"event": *"summary"' ||
      { tail -n 3 "$scratch/metrics.jsonl"; fail "the metrics file does not end with a summary"; } ;;
  stop)
    grep -q 'stop requested' "$scratch/job.err" || fail "the batch script passed no stop request on"
    grep -q 'stopped by SIGUSR1 after step' "$scratch/job.out" ||
      { tail -n 5 "$scratch/job.out"; fail "ddp-train did not stop on the request"; }
    ls "$scratch/checkpoints"/checkpoint-*.ddpckpt >/dev/null 2>&1 ||
      fail "no checkpoint was written on the way out" ;;
  scaling)
    csv=$scratch/results/scaling.csv
    [ -s "$csv" ] || { on_failure; fail "the job wrote no scaling.csv"; }
    cat "$csv"
    rows=$(tail -n +2 "$csv" | cut -d, -f1,2 | tr '\n' ' ')
    [ "$rows" = "weak,1 weak,2 strong,1 strong,2 " ] ||
      fail "rows '$rows', expected weak and strong at 1 and 2 ranks (the allocation's 2 tasks)"
    [ -z "$(tail -n +2 "$csv" | cut -d, -f12 | tr -d '\n')" ] ||
      fail "a ceiling was measured inside a batch job" ;;
esac
echo "PASSED in $(( $(date +%s) - start ))s"
