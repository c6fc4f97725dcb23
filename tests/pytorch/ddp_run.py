"""Running ddp-train from the PyTorch tests: one call, its last --metrics-out record."""
import json
import subprocess
import sys


def ddp_train(mpiexec, program, ranks, metrics, *options):
    """Runs `program` (ddp-train) at `ranks` ranks with options; exits the test with its output
    when it fails; returns the last record of its --metrics-out file."""
    command = [mpiexec, "-np", str(ranks), program, "--progress", "lines", "--metrics-out",
               metrics, *options]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
    with open(metrics) as f:
        return json.loads(f.read().splitlines()[-1])
