#!/usr/bin/python3
"""Weights between ddp-train and PyTorch, both ways, as safetensors state_dicts (ctest:
pytorch.weights).

Writes a classification task as CSV (Gaussian blobs: 10 features, 4 classes, overlapping so that
about 86% is reached; 4000 training and 2000 validation rows), then
  export: ddp-train trains mlp:10,32,4 at 2 ranks for 3 epochs and exports its parameters; PyTorch
          loads them into the same nn.Sequential with load_state_dict(strict=True) and evaluates
          the validation set: its accuracy must be the "summary" record's val_accuracy;
  import: PyTorch trains its own MLP, saves its state_dict with safetensors_io.py, and ddp-train
          --init-params --evaluate at 2 ranks must report PyTorch's accuracy in its "evaluation"
          record.
Accuracies must agree within 0.1 point (2 of the 2000 samples, for logits that tie in float32's
last bits) and the mean validation losses within 1e-4 relative, which a wrong or misplaced weight
would not meet.

  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 /usr/bin/python3 \\
    tests/pytorch/weights_test.py --mpiexec mpirun --ddp-train build/src/apps/ddp-train
"""
import argparse
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ddp_run
import safetensors_io

FEATURES, HIDDEN, CLASSES = 10, 32, 4
TRAIN_ROWS, VAL_ROWS = 4000, 2000
MODEL = f"mlp:{FEATURES},{HIDDEN},{CLASSES}"
ACCURACY_TOLERANCE = 0.001  # 0.1 percentage point
LOSS_TOLERANCE = 1e-4       # relative


def make_data(rng):
    """Gaussian blobs, float32: (x [rows, FEATURES], labels [rows]) for training and validation."""
    means = rng.standard_normal((CLASSES, FEATURES)) * 0.9
    sets = []
    for rows in (TRAIN_ROWS, VAL_ROWS):
        labels = rng.integers(0, CLASSES, rows)
        x = (means[labels] + rng.standard_normal((rows, FEATURES))).astype(np.float32)
        sets.append((x, labels))
    return sets


def write_csv(path, x, labels):
    # %.9g gives back each float32 exactly, so ddp reads the very numbers PyTorch evaluates.
    with open(path, "w") as f:
        f.write("label," + ",".join(f"f{i}" for i in range(FEATURES)) + "\n")
        for label, row in zip(labels, x):
            f.write(f"{label}," + ",".join(f"{v:.9g}" for v in row) + "\n")


def make_model():
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))


def evaluate(model, x, labels):
    """(accuracy, mean cross-entropy) of model on the set, in float32."""
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
        target = torch.from_numpy(labels)
        accuracy = (logits.argmax(1) == target).double().mean().item()
        return accuracy, F.cross_entropy(logits, target).item()


def ddp_train(args, metrics, *options):
    """Runs ddp-train at 2 ranks; returns the last record of its --metrics-out file."""
    return ddp_run.ddp_train(args.mpiexec, args.ddp_train, 2, metrics, "--model", MODEL, *options)


def agree(direction, ddp_record, event, torch_accuracy, torch_loss):
    """Prints ddp's and PyTorch's accuracy and loss; whether they agree."""
    if ddp_record.get("event") != event or "val_accuracy" not in ddp_record:
        print(f"{direction}: FAIL, expected an '{event}' record with val_accuracy, "
              f"got {ddp_record}")
        return False
    accuracy, loss = ddp_record["val_accuracy"], ddp_record["val_loss"]
    ok = (abs(accuracy - torch_accuracy) <= ACCURACY_TOLERANCE
          and abs(loss - torch_loss) <= LOSS_TOLERANCE * abs(torch_loss))
    print(f"{direction}: val accuracy ddp {100 * accuracy:.2f}%  "
          f"PyTorch {100 * torch_accuracy:.2f}%  (val loss ddp {loss:.6f}  "
          f"PyTorch {torch_loss:.6f})  {'ok' if ok else 'FAIL'}")
    return ok


def export_direction(args, work, val):
    """ddp-train trains and exports; PyTorch evaluates the exported weights."""
    exported = f"{work}/ddp.safetensors"
    record = ddp_train(args, f"{work}/export.jsonl", "--data", f"csv:{work}/train.csv",
                       "--val-data", f"csv:{work}/val.csv", "--epochs", "3",
                       "--export-params", exported)
    tensors, _ = safetensors_io.read(exported)
    model = make_model()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    return agree("ddp -> PyTorch", record, "summary", *evaluate(model, *val))


def import_direction(args, work, train, val):
    """PyTorch trains and saves; ddp-train --evaluate validates PyTorch's weights."""
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, labels = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    for _ in range(3):
        order = torch.randperm(TRAIN_ROWS)
        for begin in range(0, TRAIN_ROWS, 64):
            rows = order[begin:begin + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[rows]), labels[rows]).backward()
            optimizer.step()
    saved = f"{work}/torch.safetensors"
    safetensors_io.write(saved, {k: v.numpy() for k, v in model.state_dict().items()})
    record = ddp_train(args, f"{work}/import.jsonl", "--data", f"csv:{work}/train.csv",
                       "--val-data", f"csv:{work}/val.csv", "--init-params", saved, "--evaluate")
    return agree("PyTorch -> ddp", record, "evaluation", *evaluate(model, *val))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpiexec", default="mpirun")
    parser.add_argument("--ddp-train", required=True, help="path to the ddp-train executable")
    parser.add_argument("--dir",
                        help="keep the files in this folder (default: a temporary one, removed)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    train, val = make_data(np.random.default_rng(0))
    with tempfile.TemporaryDirectory(prefix="ddp_weights_") as scratch:
        work = args.dir or scratch
        write_csv(f"{work}/train.csv", *train)
        write_csv(f"{work}/val.csv", *val)
        ok = export_direction(args, work, val)
        ok = import_direction(args, work, train, val) and ok
    print("weights travel both ways" if ok else "FAILED: ddp and PyTorch disagree on the weights")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
