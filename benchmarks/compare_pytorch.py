#!/usr/bin/python3
"""PyTorch DDP against ddp: the same model, per-rank batch, optimizer and threads, at 1 and 2 ranks.

What: for each case (model and samples per rank) and each rank count, runs PyTorch's
DistributedDataParallel (gloo) and ddp-train under the same mpirun wrapper, in turns, several
trials, and prints samples/s for both and their ratio (best trial; the spread beside it, since a
shared 2-core machine is noisy). Both train the same model (a Linear/ReLU stack, or the cnn:
family's convolutions with BatchNorm on 1x28x28 images) with cross-entropy and SGD (lr 0.01,
momentum 0.9) on random data already in memory, one compute thread per rank, a 25 MiB gradient
bucket, and both are timed after the same warm-up steps. The GPT case (nanoGPT's model, bytes as
tokens) trains with AdamW, weight decay on the matrices only, and counts tokens/s.

Usage (Debian's python3, which has torch 1.13; `apt-get install -y python3-torch` adds it):
  /usr/bin/python3 benchmarks/compare_pytorch.py [--ddp-train build/src/apps/ddp-train]
      [--ranks 1,2] [--cases 784,1024,1024,10/64/300 5,64,2/15/3000 cnn:32,64:512/64/60
               gpt:layers=4,heads=4,dim=128,context=64/8/30]
      [--trials 3] [--threads 1] [--csv FILE]
A case is MODEL/SAMPLES_PER_RANK/STEPS, MODEL an MLP's widths, cnn:C1,...:HIDDEN or
gpt:layers=L,heads=H,dim=C,context=T (samples are sequences of T tokens). Without
torch it prints why it skips and exits 0.
It is a benchmark, not a test: it checks only that both sides ran and trained.
"""
import json
import os
import subprocess
import sys
import tempfile

from peer import (ROOT, WARMUP_STEPS, ddp_train_args, free_port, make_parser, model_io,
                  positive_int, positive_int_list, print_table, read_summary, time_steps,
                  torch_model, torch_optimizer)


def worker(args):
    """One PyTorch DDP rank, started by mpirun; rank 0 prints one JSON line."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(args.threads)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(args.port)
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    sample_shape, classes = model_io(args.widths)
    torch.manual_seed(1234)
    model = torch.nn.parallel.DistributedDataParallel(torch_model(torch, args.widths))
    optimizer = torch_optimizer(torch, model, args.widths)
    loss_fn = torch.nn.CrossEntropyLoss()
    # A pool of batches in memory, like ddp-train's synthetic set: no loading is timed. A GPT's
    # samples are token sequences, its targets one per token.
    generator = torch.Generator().manual_seed(rank)
    if args.widths.startswith("gpt:"):
        pool = [(torch.randint(0, classes, (args.batch, *sample_shape), generator=generator),
                 torch.randint(0, classes, (args.batch, *sample_shape), generator=generator))
                for _ in range(16)]
    else:
        pool = [(torch.randn(args.batch, *sample_shape, generator=generator),
                 torch.randint(0, classes, (args.batch,), generator=generator))
                for _ in range(16)]

    def step(i):
        x, y = pool[i % len(pool)]
        optimizer.zero_grad(set_to_none=False)
        logits = model(x)
        loss_fn(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).backward()
        optimizer.step()

    elapsed = time_steps(step, args.steps, ready=dist.barrier)
    if rank == 0:
        print(json.dumps({"samples_per_s": args.steps * args.batch * world / elapsed,
                          "step_ms": elapsed * 1000 / args.steps}))
    dist.destroy_process_group()


def mpirun(ranks, threads, command):
    """Runs COMMAND under launch/ddp-mpirun, each rank bound to `threads` cores (the same binding
    for both sides, also at one rank, where the wrapper would otherwise hand out every core);
    stdout."""
    result = subprocess.run([os.path.join(ROOT, "launch", "ddp-mpirun"), "-n", str(ranks)]
                            + command, capture_output=True, text=True, check=False,
                            env=dict(os.environ, DDP_THREADS=str(threads)))
    if result.returncode != 0:
        sys.exit(f"compare_pytorch: {' '.join(command[:2])} at {ranks} ranks failed "
                 f"(exit {result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def run_pytorch(ranks, model, batch, steps, threads):
    out = mpirun(ranks, threads, [sys.executable, os.path.abspath(__file__), "--worker",
                         "--widths", model, "--batch", str(batch), "--steps", str(steps),
                         "--threads", str(threads), "--port", str(free_port())])
    return json.loads(out.strip().splitlines()[-1])["samples_per_s"]


def run_ddp(ddp_train, ranks, model, batch, steps, threads):
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.jsonl")
        samples = (steps + WARMUP_STEPS) * batch * ranks  # one epoch, every step a new batch
        mpirun(ranks, threads, [ddp_train, "--threads", str(threads)]
               + ddp_train_args(model, samples, batch * ranks, 1, steps, metrics))
        return read_summary(metrics)["samples_per_s"]


def main():
    parser = make_parser(__doc__.split("\n")[0], "build/src/apps/ddp-train",
                         ["784,1024,1024,10/64/300", "5,64,2/15/3000", "cnn:32,64:512/64/60",
                          "gpt:layers=4,heads=4,dim=128,context=64/8/30"])
    parser.add_argument("--ranks", type=positive_int_list, default=[1, 2])
    parser.add_argument("--threads", type=positive_int, default=1)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    try:
        import torch  # noqa: F401  (only its presence is checked here)
    except ImportError:
        print("compare_pytorch: skipped, no torch for " + sys.executable +
              "; on Debian: apt-get install -y python3-torch, then run with /usr/bin/python3")
        return
    if not os.access(args.ddp_train, os.X_OK):
        sys.exit(f"compare_pytorch: no ddp-train at {args.ddp_train}; build it "
                 "(launch/build.sh) or pass --ddp-train")
    ranks_list = args.ranks
    rows = []
    for model, batch, steps in args.cases:
        pytorch = {r: [] for r in ranks_list}
        ours = {r: [] for r in ranks_list}
        # In turns, so that both sides see the same machine (neighbours' load, frequency).
        for _ in range(args.trials):
            for r in ranks_list:
                pytorch[r].append(run_pytorch(r, model, batch, steps, args.threads))
                ours[r].append(run_ddp(args.ddp_train, r, model, batch, steps, args.threads))
        # A GPT's samples are sequences: its figures are tokens/s.
        unit, per_sample = "samples", 1
        if model.startswith("gpt:"):
            unit, per_sample = "tokens", model_io(model)[0][0]
        for r in ranks_list:
            rows.append((model.replace(",", "-"), batch, r, unit,
                         *(per_sample * v for v in (max(pytorch[r]), min(pytorch[r]),
                                                    max(ours[r]), min(ours[r])))))

    header = ("model", "per_rank_batch", "ranks", "per_s_of", "pytorch_per_s", "pytorch_worst",
              "ddp_per_s", "ddp_worst", "ratio")
    table = [(model, batch, r, unit, f"{pt_best:.0f}", f"{pt_worst:.0f}", f"{dd_best:.0f}",
              f"{dd_worst:.0f}", f"{dd_best / pt_best:.2f}")
             for model, batch, r, unit, pt_best, pt_worst, dd_best, dd_worst in rows]
    print_table(f"torch {torch.__version__}, gloo; {args.threads} thread(s) per rank; best of "
                f"{args.trials} trials (worst beside it)", header, table, args.csv)

if __name__ == "__main__":
    main()
