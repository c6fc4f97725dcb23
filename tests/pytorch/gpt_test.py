#!/usr/bin/python3
"""The gpt: family against nanoGPT's model in PyTorch (benchmarks/peer.py's torch_gpt) (ctest:
pytorch.gpt).

  forward:  a 2-layer GPT with weights PyTorch wrote (LayerNorms and biases perturbed, so that
            none is the identity): ddp_model_oracle's logits and every parameter's gradient for a
            random upstream gradient, on a full context and on shorter sequences, equal torch's.
  generate: ddp-generate --top-k 1 prints torch's greedy continuation from the same weights
            (scaled up, so that the argmax varies), cropping to the last `context` bytes as
            nanoGPT does.
  train:    gpt:layers=2,heads=2,dim=64,context=32 from weights PyTorch wrote, 20 AdamW steps
            (weight decay on the matrices and embeddings only) on a text file with --no-shuffle,
            global batches of 8 sequences, at -np 1, 2 and 3 (slices 3, 3, 2): every step's loss
            within 1e-4 relative of torch's and the final state_dict within 1e-4 absolute; torch
            trains once, single-process, on the global batches.
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 /usr/bin/python3 tests/pytorch/gpt_test.py \\
    --mpiexec mpirun --ddp-train build/src/apps/ddp-train --ddp-generate build/src/apps/ddp-generate \\
    --oracle build/tests/pytorch/ddp_model_oracle
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import safetensors_io

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../benchmarks"))
import peer  # noqa: E402

SPEC = "gpt:layers=2,heads=2,dim=64,context=32"
CONTEXT, VOCAB = 32, 256
BATCH, STEPS, LR, DECAY = 8, 20, 1e-3, 0.1
WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing "
         "matches and zany jackdaws love my big sphinx of quartz").split()


def state_of(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def new_model(seed):
    torch.manual_seed(seed)
    return peer.torch_model(torch, SPEC)


def scaled_difference(ours, theirs):
    theirs = theirs.astype(np.float64)
    return np.max(np.abs(ours.astype(np.float64) - theirs)) / max(np.max(np.abs(theirs)), 1e-30)


def check_forward(args, work):
    model = new_model(1)
    with torch.no_grad():  # LayerNorms and biases away from 1 and 0
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    weights = f"{work}/forward.safetensors"
    safetensors_io.write(weights, state_of(model))
    rng = np.random.default_rng(2)
    command = [args.oracle, SPEC, weights]
    cases = []
    for i, (batch, sequence) in enumerate(((3, CONTEXT), (2, 17), (1, 1))):
        x = rng.integers(0, VOCAB, (batch, sequence)).astype(np.int64)
        dy = rng.standard_normal((batch, sequence, VOCAB)).astype(np.float32)
        safetensors_io.write(f"{work}/in{i}.safetensors", {"x": x, "dy": dy})
        command += [f"{work}/in{i}.safetensors", f"{work}/out{i}.safetensors"]
        cases.append((x, dy))
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)}:\n{run.stderr}")
    ok = True
    for i, (x, dy) in enumerate(cases):
        model.zero_grad()
        y = model(torch.from_numpy(x))
        y.backward(torch.from_numpy(dy))
        ours, _ = safetensors_io.read(f"{work}/out{i}.safetensors")
        worst = {"y": scaled_difference(ours["y"], y.detach().numpy())}
        for name, p in model.named_parameters():
            worst[name] = scaled_difference(ours.pop(f"grad.{name}"), p.grad.numpy())
        extra = sorted(k for k in ours if k != "y")
        name = max(worst, key=worst.get)
        case_ok = worst[name] <= 1e-4 and not extra and len(worst) == 1 + len(
            list(model.parameters()))
        print(f"forward/backward {list(x.shape)}: largest difference {worst[name]:.1e} relative "
              f"({name}){'; extra: ' + ', '.join(extra) if extra else ''}  "
              f"{'ok' if case_ok else 'FAIL'}")
        ok = ok and case_ok
    return ok


def check_generate(args, work):
    """Weights 20 times GPT-2's scale: logits far apart, whose argmax changes from byte to byte."""
    model = new_model(5)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(20)
    weights = f"{work}/generate.safetensors"
    safetensors_io.write(weights, state_of(model))
    prompt, count = b"The quick brown fox", 40  # 59 bytes: the last ones see a cropped context
    command = [args.ddp_generate, "--init-params", weights, "--model", SPEC, "--prompt",
               prompt.decode(), "--tokens", str(count), "--top-k", "1", "--seed", "7",
               "--threads", "1"]
    run = subprocess.run(command, capture_output=True)
    if run.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)}:\n{run.stderr.decode(errors='replace')}")
    tokens = list(prompt)
    with torch.no_grad():
        for _ in range(count):
            logits = model(torch.tensor([tokens[-CONTEXT:]]))
            tokens.append(int(logits[0, -1].argmax()))
    expected = bytes(tokens[len(prompt):]) + b"\n"
    ok = run.stdout == expected and len(set(expected)) > 5
    print(f"ddp-generate --top-k 1: {run.stdout[:-1]!r}, torch greedy: {expected[:-1]!r}  "
          f"{'ok' if ok else 'FAIL'}")
    return ok


def write_text(path):
    rng = np.random.default_rng(3)
    sentences = []
    while sum(len(s) for s in sentences) < (BATCH * STEPS + 8) * CONTEXT + 1:
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(4, 12))]
        sentences.append(" ".join(words).capitalize() + ".\n")
    data = "".join(sentences).encode()
    with open(path, "wb") as f:
        f.write(data)
    return np.frombuffer(data, dtype=np.uint8).astype(np.int64)


def torch_training(model, data):
    """STEPS AdamW steps on the global batches in file order; the loss of each."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": DECAY},
                                   {"params": rest, "weight_decay": 0.0}], lr=LR)
    losses = []
    for step in range(STEPS):
        rows = [data[i * CONTEXT:i * CONTEXT + CONTEXT + 1]
                for i in range(step * BATCH, (step + 1) * BATCH)]
        batch = torch.from_numpy(np.stack(rows))
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def ddp_training(args, work, ranks, text, initial):
    exported, metrics = f"{work}/np{ranks}.safetensors", f"{work}/np{ranks}.jsonl"
    command = [args.mpiexec, "-np", str(ranks), args.ddp_train, "--model", SPEC, "--data",
               f"text:{text}", "--val-fraction", "0", "--no-shuffle", "--batch-size", str(BATCH),
               "--epochs", "1", "--max-steps", str(STEPS), "--optimizer", "adamw", "--lr", str(LR),
               "--weight-decay", str(DECAY), "--threads", "1", "--init-params", initial,
               "--export-params", exported, "--progress", "lines", "--log-every", "1",
               "--metrics-out", metrics]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
    with open(metrics) as f:
        records = [json.loads(line) for line in f]
    # Each step's own loss (--log-every 1), by step: the run's end repeats its last report.
    by_step = {r["step"]: r["loss"] for r in records if r.get("event") == "progress"}
    losses = [by_step[step] for step in sorted(by_step)]
    ours, _ = safetensors_io.read(exported)
    return losses, ours


def check_training(args, work):
    text = f"{work}/text.txt"
    data = write_text(text)
    model = new_model(4)
    initial = f"{work}/initial.safetensors"
    safetensors_io.write(initial, state_of(model))
    torch_losses = torch_training(model, data)
    theirs = state_of(model)
    ok = True
    for ranks in (1, 2, 3):
        losses, ours = ddp_training(args, work, ranks, text, initial)
        loss_error = max((abs(a - b) / abs(b) for a, b in zip(losses, torch_losses)), default=1)
        names = set(theirs) - {"lm_head.weight"}
        mismatched = sorted(names ^ set(ours))
        worst, where = 0.0, "-"
        for name in names & set(ours):
            diff = np.max(np.abs(ours[name].astype(np.float64) - theirs[name]))
            if diff > worst:
                worst, where = diff, name
        run_ok = (len(losses) == STEPS and loss_error <= 1e-4 and worst <= 1e-4
                  and not mismatched)
        print(f"train -np {ranks}: {len(losses)} losses ({losses[0]:.5f} .. {losses[-1]:.5f}; "
              f"torch {torch_losses[0]:.5f} .. {torch_losses[-1]:.5f}), largest relative loss "
              f"difference {loss_error:.1e}, largest parameter difference {worst:.1e} ({where})"
              f"{'; names differ: ' + ', '.join(mismatched) if mismatched else ''}  "
              f"{'ok' if run_ok else 'FAIL'}")
        ok = ok and run_ok
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpiexec", default="mpirun")
    parser.add_argument("--ddp-train", required=True)
    parser.add_argument("--ddp-generate", required=True)
    parser.add_argument("--oracle", required=True, help="the ddp_model_oracle executable")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="ddp_gpt_") as work:
        forward_ok = check_forward(args, work)
        generate_ok = check_generate(args, work)
        train_ok = check_training(args, work)
    ok = forward_ok and generate_ok and train_ok
    print("the GPT agrees with PyTorch" if ok else "FAILED: ddp and PyTorch disagree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
