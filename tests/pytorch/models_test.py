#!/usr/bin/python3
"""ddp-train's convolutional families against the same networks in PyTorch (ctest:
pytorch.models).

For each model (cnn:8,16:32 and resnet:1 on 1x12x12 images of 4 classes, written as gzip IDX):
  train:  PyTorch builds the network ddp's family builds (the same layers, state_dict names and
          shapes), saves its initial state_dict; ddp-train starts from it (--init-params) at one
          process and PyTorch trains alike: 6 SGD steps (lr 0.01, momentum 0.9) over the samples
          in order (--no-shuffle), batches of 16, BatchNorm in training mode. ddp's exported
          state_dict (running statistics and num_batches_tracked too) must equal PyTorch's within
          1e-5 relative to the tensor's scale (float32 summation orders differ; at lr 0.05 the
          ResNet amplifies such differences about tenfold a step).
  eval:   ddp-train --evaluate of PyTorch's trained weights (BatchNorm on running statistics)
          reports PyTorch's validation accuracy and, within 1e-5 relative, its mean loss.
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 /usr/bin/python3 \\
    tests/pytorch/models_test.py --mpiexec mpirun --ddp-train build/src/apps/ddp-train
"""
import argparse
import gzip
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ddp_run
import safetensors_io

# benchmarks/peer.py builds the torch twins of ddp-train's model families.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../benchmarks"))
import peer  # noqa: E402

SIZE, CLASSES = 12, 4
TRAIN_ROWS, VAL_ROWS, BATCH = 192, 64, 16
TOLERANCE = 1e-5  # relative to 1 + the tensor's largest magnitude


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: ddp's resnet: family names its layers the same way."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """He et al. 2016, section 4.2, with 1x1 projection shortcuts: 6N+2 layers."""

    def __init__(self, blocks):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        inplanes = 16
        for stage, planes in enumerate((16, 32, 64)):
            layer = []
            for block in range(blocks):
                layer.append(BasicBlock(inplanes, planes, 2 if stage > 0 and block == 0 else 1))
                inplanes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


MODELS = {"cnn:8,16:32": lambda: peer.torch_cnn(torch, [8, 16], 32, (1, SIZE, SIZE), CLASSES),
          "resnet:1": lambda: ResNet(1)}


def write_idx(path, array, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def make_data(rng, work):
    """Images whose class is the quadrant of a bright blob, as gzip IDX; returns the float32
    tensors ddp reads ([N, 1, SIZE, SIZE] scaled to [0, 1]) and the labels, per set."""
    sets = {}
    for name, rows in (("train", TRAIN_ROWS), ("val", VAL_ROWS)):
        labels = rng.integers(0, CLASSES, rows)
        images = rng.integers(0, 60, (rows, SIZE, SIZE))
        for i, label in enumerate(labels):
            r, c = (label // 2) * SIZE // 2, (label % 2) * SIZE // 2
            images[i, r + 2:r + 5, c + 2:c + 5] += 150
        write_idx(f"{work}/{name}-images.gz", images, 0x803)
        write_idx(f"{work}/{name}-labels.gz", labels, 0x801)
        x = torch.from_numpy(images.astype(np.float32) / np.float32(255))
        sets[name] = (x.reshape(rows, 1, SIZE, SIZE), torch.from_numpy(labels))
    return sets


def ddp_train(args, work, model, metrics, *options):
    """One process of ddp-train on the IDX files in work; the last --metrics-out record."""
    return ddp_run.ddp_train(
        args.mpiexec, args.ddp_train, 1, metrics, "--model", model, "--threads", "1", "--data",
        f"idx:{work}/train-images.gz,{work}/train-labels.gz", "--val-data",
        f"idx:{work}/val-images.gz,{work}/val-labels.gz", *options)


def state_of(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def compare_states(ours, theirs):
    """(largest scaled difference, the tensor it is in, missing or extra names)."""
    names = set(ours) ^ set(theirs)
    worst, where = 0.0, "-"
    for name in set(ours) & set(theirs):
        a, b = ours[name].astype(np.float64), theirs[name].astype(np.float64)
        if a.shape != b.shape:
            names.add(f"{name} {a.shape} vs {b.shape}")
            continue
        diff = np.max(np.abs(a - b), initial=0) / (1 + np.max(np.abs(b), initial=0))
        if diff > worst:
            worst, where = diff, name
    return worst, where, sorted(names)


def check_training(args, work, spec, sets):
    torch.manual_seed(1)
    model = MODELS[spec]()
    initial = f"{work}/initial.safetensors"
    safetensors_io.write(initial, state_of(model))
    steps = TRAIN_ROWS // BATCH // 2
    exported = f"{work}/ddp.safetensors"
    ddp_train(args, work, spec, f"{work}/train.jsonl", "--init-params", initial, "--no-shuffle",
              "--batch-size", str(BATCH), "--max-steps", str(steps), "--optimizer", "sgd",
              "--lr", "0.01", "--momentum", "0.9", "--lr-schedule", "constant",
              "--export-params", exported)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, labels = sets["train"]
    model.train()
    for step in range(steps):
        rows = slice(step * BATCH, (step + 1) * BATCH)
        optimizer.zero_grad()
        F.cross_entropy(model(x[rows]), labels[rows]).backward()
        optimizer.step()
    ours, _ = safetensors_io.read(exported)
    worst, where, mismatched = compare_states(ours, state_of(model))
    ok = worst <= TOLERANCE and not mismatched
    print(f"{spec} train {steps} steps: largest scaled difference {worst:.2e} ({where})"
          f"{'; names or shapes differ: ' + ', '.join(mismatched) if mismatched else ''}  "
          f"{'ok' if ok else 'FAIL'}")
    return ok, model


def check_evaluation(args, work, spec, sets, model):
    trained = f"{work}/torch.safetensors"
    safetensors_io.write(trained, state_of(model))
    record = ddp_train(args, work, spec, f"{work}/eval.jsonl", "--init-params", trained,
                       "--evaluate", "--batch-size", str(BATCH))
    model.eval()
    with torch.no_grad():
        x, labels = sets["val"]
        logits = model(x)
        accuracy = (logits.argmax(1) == labels).double().mean().item()
        loss = F.cross_entropy(logits, labels).item()
    ok = (abs(record.get("val_accuracy", -1) - accuracy) <= 1.5 / VAL_ROWS
          and abs(record.get("val_loss", 0) - loss) <= TOLERANCE * abs(loss))
    print(f"{spec} evaluate PyTorch's weights: ddp {record.get('val_accuracy')} / "
          f"{record.get('val_loss')}, PyTorch {accuracy} / {loss}  {'ok' if ok else 'FAIL'}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpiexec", default="mpirun")
    parser.add_argument("--ddp-train", required=True, help="path to the ddp-train executable")
    parser.add_argument("models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    ok = True
    with tempfile.TemporaryDirectory(prefix="ddp_models_") as work:
        sets = make_data(np.random.default_rng(0), work)
        for spec in args.models:
            trained_ok, model = check_training(args, work, spec, sets)
            ok = check_evaluation(args, work, spec, sets, model) and trained_ok and ok
    print("the models agree with PyTorch" if ok else "FAILED: ddp and PyTorch disagree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
