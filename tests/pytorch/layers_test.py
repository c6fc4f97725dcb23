#!/usr/bin/python3
"""PyTorch as the oracle of ddp's layers, losses and shape kernels (ctest: pytorch.layers).

For each case: builds the torch module (or loss, or op) with random parameters and random inputs
(seeded), writes them to a safetensors file with the case's configuration in __metadata__, runs
ddp's driver (ddp_layer_oracle) on it and compares what ddp computed: the forward output y, the
input's gradient dx and every parameter's gradient after backward(dy), or a loss's value and its
gradient with respect to the prediction.

The reference is PyTorch in float64 on the same float32 numbers (parameters, x, dy), so that it is
exact to float32's eyes; a case passes when max |ddp - reference| <= 1e-5 * (1 + max |reference|)
over each output. The line printed per case gives the largest such difference for ddp and, for
scale, PyTorch's own float32 result's. The shape kernels move elements and must be bit-exact.

  cmake --build build --target ddp_layer_oracle
  /usr/bin/python3 tests/pytorch/layers_test.py build/tests/pytorch/ddp_layer_oracle [CASE...]
"""
import argparse
import copy
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import safetensors_io

TOLERANCE = 1e-5  # relative to 1 + the reference's largest magnitude, per output


class Case:
    """What goes into the driver's file and what ddp must give back."""

    def __init__(self, metadata, inputs, expected, torch32=None, exact=False, check=None):
        self.metadata = {k: str(v) for k, v in metadata.items()}
        self.inputs = inputs        # {name: numpy array}: parameters, x, dy, target
        self.expected = expected    # {output name: numpy float64 or exact array}
        self.torch32 = torch32      # PyTorch's float32 outputs, for the printed comparison
        self.exact = exact          # bit-exact: element moves, no arithmetic
        self.check = check          # instead of expected: check(outputs) -> (ok, max diff, note)


def numpy_of(tensors):
    return {k: v.detach().numpy() for k, v in tensors.items()}


def module_case(metadata, module, x, mode="train"):
    """forward(x) and backward(dy) of module, in float64 for the reference and float32 too."""
    module.train(mode == "train")
    with torch.no_grad():
        dy = torch.randn(module(x).shape)
    results = {}
    for dtype in (torch.float64, torch.float32):
        m = copy.deepcopy(module).to(dtype)  # a deep copy keeps tied parameters tied
        xin = x.to(dtype).clone().requires_grad_() if x.is_floating_point() else x
        y = m(xin)
        y.backward(dy.to(dtype))
        out = {"y": y}
        if x.is_floating_point():
            out["dx"] = xin.grad
        out.update({f"grad.{name}": p.grad for name, p in m.named_parameters()})
        out.update({f"buffer.{name}": b for name, b in m.named_buffers()})  # after the forward
        results[dtype] = numpy_of(out)
    # state_dict() lists a tied parameter under each of its names, as the file does.
    inputs = numpy_of(module.state_dict())
    inputs.update({"x": x.numpy(), "dy": dy.numpy()})
    return Case(dict(metadata, mode=mode), inputs, results[torch.float64], results[torch.float32])


def loss_case(metadata, loss, prediction, target):
    """loss(prediction, target) and d loss / d prediction, in float64 and float32."""
    results = {}
    for dtype in (torch.float64, torch.float32):
        p = prediction.to(dtype).clone().requires_grad_()
        value = loss(p, target.to(dtype) if target.is_floating_point() else target)
        value.backward()
        results[dtype] = numpy_of({"loss": value, "dx": p.grad})
    inputs = {"x": prediction.numpy(), "target": target.numpy()}
    return Case(metadata, inputs, results[torch.float64], results[torch.float32])


class Residual(nn.Module):
    """ddp's nn::Residual: branch(x) + shortcut(x), or + x without a shortcut."""

    def __init__(self, branch, shortcut=None):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut  # None registers nothing: no "shortcut." in the state_dict

    def forward(self, x):
        return self.branch(x) + (self.shortcut(x) if self.shortcut is not None else x)


class Tied(nn.Module):
    """GPT-2's ends: lm_head's weight is the token embedding's."""

    def __init__(self, vocab, dim):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.act = nn.Tanh()
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, x):
        return self.lm_head(self.act(self.wte(x)))


class Twice(nn.Module):
    """One Linear called twice in a forward."""

    def __init__(self, features):
        super().__init__()
        self.layer = nn.Linear(features, features)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.layer(self.act(self.layer(x)))


class CausalSelfAttention(nn.Module):
    """nanoGPT's CausalSelfAttention without dropout, in its explicit math (not
    F.scaled_dot_product_attention, whose float64 path is the same formula)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x):
        batch, tokens, dim = x.shape
        q, k, v = self.c_attn(x).split(dim, dim=2)
        q, k, v = (t.view(batch, tokens, self.heads, dim // self.heads).transpose(1, 2)
                   for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        mask = torch.tril(torch.ones(tokens, tokens, dtype=torch.bool))
        probs = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        y = (probs @ v).transpose(1, 2).contiguous().view(batch, tokens, dim)
        return self.c_proj(y)


class AttentionTwice(nn.Module):
    """One attention layer called twice in a forward: two call frames, summed gradients."""

    def __init__(self, dim, heads):
        super().__init__()
        self.attn = CausalSelfAttention(dim, heads)

    def forward(self, x):
        return self.attn(self.attn(x))


def attention_case(dim, heads, x_shape, twice=False):
    module = AttentionTwice(dim, heads) if twice else CausalSelfAttention(dim, heads)
    metadata = {"layer": "attention_twice" if twice else "attention", "dim": dim, "heads": heads}
    return module_case(metadata, module, torch.randn(*x_shape))


def attention_matches_sdpa():
    """The explicit math above is F.scaled_dot_product_attention(is_causal=True)'s, where this
    torch has it (2.0 and later)."""
    if not hasattr(F, "scaled_dot_product_attention"):
        return
    torch.manual_seed(0)
    module = CausalSelfAttention(12, 3).double()
    x = torch.randn(2, 5, 12, dtype=torch.float64)
    q, k, v = (t.view(2, 5, 3, 4).transpose(1, 2) for t in module.c_attn(x).split(12, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    reference = module.c_proj(y.transpose(1, 2).reshape(2, 5, 12))
    assert torch.allclose(module(x), reference, atol=1e-12), "attention differs from SDPA"


def layer_norm_case(x, eps=1e-5):
    """LayerNorm with random affine parameters, on rows offset from 0 and scaled."""
    dim = x.shape[-1]
    module = nn.LayerNorm(dim, eps=eps)
    with torch.no_grad():
        module.weight.copy_(torch.randn(dim))
        module.bias.copy_(torch.randn(dim))
    return module_case({"layer": "layer_norm", "dim": dim, "eps": eps}, module, x)


def mlp(widths, activations):
    kinds = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(activations):
            layers.append(kinds[activations[i]]())
    return nn.Sequential(*layers)


def mlp_case(widths, activations, x):
    metadata = {"layer": "mlp", "widths": ",".join(map(str, widths)),
                "activations": ",".join(activations)}
    return module_case(metadata, mlp(widths, activations), x)


def residual_case(shortcut):
    branch = mlp([6, 10, 6 if shortcut == "identity" else 4], ["relu"])
    projection = nn.Linear(6, 4, bias=False) if shortcut == "projection" else None
    metadata = {"layer": "residual", "in": 6, "hidden": 10, "out": branch[2].out_features,
                "shortcut": shortcut}
    return module_case(metadata, Residual(branch, projection), torch.randn(5, 6))


def activation_case(name, module):
    # Spread over [-4, 4] with some exact zeros: ReLU's kink and GELU's and tanh's tails.
    x = torch.randn(7, 9) * 2
    x[0, :3] = 0
    return module_case({"layer": name}, module, x)


def embedding_case():
    # 24 lookups in a table of 7 rows, and row 3 six times more: repeated rows add up.
    x = torch.randint(0, 7, (4, 6))
    x[1, :] = 3
    return module_case({"layer": "embedding", "num": 7, "dim": 5}, nn.Embedding(7, 5), x)


def dropout_training_case():
    """Masks come from ddp's own Generator, not PyTorch's, so they cannot be compared with torch's;
    instead: each y is 0 or x / (1 - p), dx is dy through the same mask, about p of them dropped."""
    p = 0.3
    x = torch.rand(64, 50) + 0.5  # no zeros: y / x recovers the mask
    dy = torch.randn(64, 50)

    def check(out):
        kept = out["y"] != 0
        scale = 1 / (1 - p)
        y_error = np.abs(out["y"] - np.where(kept, x.numpy() * scale, 0)).max()
        dx_error = np.abs(out["dx"] - np.where(kept, dy.numpy() * scale, 0)).max()
        dropped = 1 - kept.mean()
        ok = max(y_error, dx_error) <= TOLERANCE * (1 + scale * 1.5) and abs(dropped - p) < 0.05
        return ok, max(y_error, dx_error), f"dropped {dropped:.3f} of p = {p}"

    return Case({"layer": "dropout", "p": p, "mode": "train"}, {"x": x.numpy(), "dy": dy.numpy()},
                {"y": None, "dx": None}, check=check)


def pool_case(kind, kernel, stride, x):
    """MaxPool2d or AvgPool2d; stride 0 is PyTorch's None (= kernel)."""
    module = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[kind](kernel, stride or None)
    return module_case({"layer": f"{kind}_pool", "kernel": kernel, "stride": stride}, module, x)


def adaptive_pool_case(output, x):
    return module_case({"layer": "adaptive_pool", "output": output},
                       nn.AdaptiveAvgPool2d(output), x)


def batch_norm_case(kind, x, mode="train", eps=1e-5, momentum=0.1):
    """BatchNorm1d or 2d with random affine parameters and running statistics (a mean far from 0
    and a variance far from 1, as a trained layer has); the buffers after the forward compare
    too."""
    channels = x.shape[1]
    module = getattr(nn, kind)(channels, eps=eps, momentum=momentum)
    with torch.no_grad():
        module.weight.copy_(torch.randn(channels))
        module.bias.copy_(torch.randn(channels))
        module.running_mean.copy_(torch.randn(channels))
        module.running_var.copy_(torch.rand(channels) + 0.5)
        module.num_batches_tracked.fill_(7)
    metadata = {"layer": kind.lower().replace("batchnorm", "batch_norm"), "features": channels,
                "eps": eps, "momentum": momentum}
    return module_case(metadata, module, x, mode)


def cross_entropy_case(normalizer):
    logits = torch.randn(12, 5) * 3
    target = torch.randint(0, 5, (12,))
    divisor = normalizer or 12  # 0: the batch's own rows (reduction="mean")
    return loss_case({"layer": "cross_entropy", "normalizer": normalizer},
                     lambda p, t: F.cross_entropy(p, t, reduction="sum") / divisor, logits, target)


def mse_case(normalizer):
    prediction = torch.randn(12, 3)
    target = torch.randn(12, 3)
    divisor = (normalizer or 12) * 3  # a normalizer counts rows; a row's elements divide too
    return loss_case({"layer": "mse", "normalizer": normalizer},
                     lambda p, t: F.mse_loss(p, t, reduction="sum") / divisor, prediction, target)


def conv2d_case(in_channels, out_channels, kernel, x_shape, stride=1, padding=0, bias=True):
    metadata = {"layer": "conv2d", "in": in_channels, "out": out_channels, "kernel": kernel,
                "stride": stride, "padding": padding, "bias": int(bias)}
    module = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)
    return module_case(metadata, module, torch.randn(*x_shape))


def small_cnn():
    """Conv-ReLU-Conv(stride 2)-ReLU-Flatten-Linear: the input gradient of one Conv2d is the
    output gradient of the one before it."""
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * 4 * 3, 5))


def permute_case(x, dims):
    return Case({"layer": "permute", "dims": ",".join(map(str, dims))}, {"x": x.numpy()},
                {"y": x.permute(*dims).contiguous().numpy()}, exact=True)


def concat_case(parts, dim):
    inputs = {f"x{i}": part.numpy() for i, part in enumerate(parts)}
    return Case({"layer": "concat", "dim": dim}, inputs, {"y": torch.cat(parts, dim).numpy()},
                exact=True)


def split_case(x, sizes, dim):
    expected = {f"y{i}": part.contiguous().numpy()
                for i, part in enumerate(torch.split(x, sizes, dim))}
    return Case({"layer": "split", "dim": dim, "sizes": ",".join(map(str, sizes))},
                {"x": x.numpy()}, expected, exact=True)


CASES = {
    "linear": lambda: module_case({"layer": "linear", "in": 5, "out": 3, "bias": 1},
                                  nn.Linear(5, 3), torch.randn(4, 5)),
    "linear_no_bias": lambda: module_case({"layer": "linear", "in": 5, "out": 3, "bias": 0},
                                          nn.Linear(5, 3, bias=False), torch.randn(4, 5)),
    "linear_3d": lambda: module_case({"layer": "linear", "in": 6, "out": 4, "bias": 1},
                                     nn.Linear(6, 4), torch.randn(2, 3, 6)),
    "relu": lambda: activation_case("relu", nn.ReLU()),
    "gelu": lambda: activation_case("gelu", nn.GELU()),
    "tanh": lambda: activation_case("tanh", nn.Tanh()),
    "embedding": embedding_case,
    "dropout_eval": lambda: module_case({"layer": "dropout", "p": 0.5}, nn.Dropout(0.5),
                                        torch.randn(6, 8), mode="eval"),
    "dropout_p0_train": lambda: module_case({"layer": "dropout", "p": 0.0}, nn.Dropout(0.0),
                                            torch.randn(6, 8)),
    "dropout_train_mask": dropout_training_case,
    "flatten": lambda: module_case({"layer": "flatten"}, nn.Flatten(), torch.randn(3, 2, 4, 5)),
    "residual_identity": lambda: residual_case("identity"),
    "residual_projection": lambda: residual_case("projection"),
    # Linear-ReLU-Linear-Tanh-Linear: the Sequential adds each hidden Linear's bias in the
    # activation's pass (ActivationLayer::add_bias_of); GELU, which reads its input, on 3-D rows.
    "mlp_relu_tanh": lambda: mlp_case([6, 16, 12, 4], ["relu", "tanh"], torch.randn(8, 6)),
    "mlp_gelu_3d": lambda: mlp_case([5, 8, 8, 3], ["gelu", "gelu"], torch.randn(2, 4, 5)),
    "tied_lm_head": lambda: module_case({"layer": "tied", "vocab": 9, "dim": 6}, Tied(9, 6),
                                        torch.randint(0, 9, (3, 5))),
    "linear_twice": lambda: module_case({"layer": "twice", "features": 5}, Twice(5),
                                        torch.randn(4, 5)),
    "cross_entropy_mean": lambda: cross_entropy_case(0),
    "cross_entropy_norm37": lambda: cross_entropy_case(37),
    "mse_mean": lambda: mse_case(0),
    "mse_norm37": lambda: mse_case(37),
    "permute": lambda: permute_case(torch.randn(2, 3, 4, 5), [2, 0, 3, 1]),
    "permute_int64": lambda: permute_case(torch.randint(-1000, 1000, (3, 4, 2)), [1, 2, 0]),
    "concat_dim1": lambda: concat_case([torch.randn(2, 3, 4), torch.randn(2, 0, 4),
                                        torch.randn(2, 5, 4)], 1),
    "concat_dim2": lambda: concat_case([torch.randn(3, 2, 1), torch.randn(3, 2, 6)], 2),
    "split_dim1": lambda: split_case(torch.randn(4, 6, 3), [1, 3, 2], 1),
    "split_dim0": lambda: split_case(torch.randn(4, 6, 3), [3, 1], 0),
    # Conv2d on images of H != W: every kernel, stride and padding the models use, with and
    # without bias, a batch too small for the kernel's last rows and columns at stride 2.
    "conv2d_k3_p1": lambda: conv2d_case(3, 4, 3, (2, 3, 7, 5), padding=1),
    "conv2d_k5_p2_s2": lambda: conv2d_case(2, 3, 5, (3, 2, 9, 8), stride=2, padding=2),
    "conv2d_k3_s2_p0": lambda: conv2d_case(3, 2, 3, (2, 3, 8, 7), stride=2, bias=False),
    "conv2d_k1_no_bias": lambda: conv2d_case(4, 6, 1, (2, 4, 5, 6), bias=False),
    "conv2d_k1_s2": lambda: conv2d_case(3, 5, 1, (2, 3, 7, 6), stride=2),
    "conv2d_k5_p0": lambda: conv2d_case(1, 4, 5, (2, 1, 9, 6)),
    # The first layer of the MNIST CNN: one image per GEMM, in place.
    "conv2d_mnist_first": lambda: conv2d_case(1, 8, 5, (2, 1, 28, 28), padding=2),
    # 4x3 maps: 21 images per GEMM on the CPU, so 45 images are chunks of 21, 21 and 3, each
    # permuted from the GEMM's layout.
    "conv2d_small_maps": lambda: conv2d_case(2, 3, 3, (45, 2, 4, 3), padding=1),
    # A rank with an empty slice of the batch: zero gradients of the right shapes.
    "conv2d_empty_batch": lambda: conv2d_case(2, 3, 3, (0, 2, 5, 4), padding=1),
    # Pooling: windows side by side (stride = kernel), overlapping (stride < kernel), with gaps
    # (stride > kernel), odd sizes, H != W, rows and columns left over in floor mode.
    "max_pool_k2": lambda: pool_case("max", 2, 0, torch.randn(2, 3, 8, 6)),
    "max_pool_k3s2": lambda: pool_case("max", 3, 2, torch.randn(2, 2, 7, 9)),
    "max_pool_k3s1": lambda: pool_case("max", 3, 1, torch.randn(1, 2, 5, 6)),
    "max_pool_k2s3": lambda: pool_case("max", 2, 3, torch.randn(2, 2, 8, 7)),
    "max_pool_k3s3": lambda: pool_case("max", 3, 3, torch.randn(1, 3, 10, 11)),
    # Integers in 0..2: most windows hold equal maxima, so dx pins which one PyTorch picks (the
    # first in row-major order), also where overlapping windows pick the same element.
    "max_pool_ties_k3s1": lambda: pool_case("max", 3, 1,
                                            torch.randint(0, 3, (2, 2, 7, 8)).float()),
    "max_pool_ties_k2s2": lambda: pool_case("max", 2, 2,
                                            torch.randint(0, 2, (2, 3, 6, 5)).float()),
    "max_pool_empty_batch": lambda: pool_case("max", 2, 2, torch.randn(0, 3, 6, 6)),
    "avg_pool_k2": lambda: pool_case("avg", 2, 0, torch.randn(2, 3, 8, 6)),
    "avg_pool_k3s2": lambda: pool_case("avg", 3, 2, torch.randn(2, 2, 7, 9)),
    "avg_pool_k3s1": lambda: pool_case("avg", 3, 1, torch.randn(1, 2, 5, 6)),
    "avg_pool_k2s3": lambda: pool_case("avg", 2, 3, torch.randn(2, 2, 8, 7)),
    "avg_pool_empty_batch": lambda: pool_case("avg", 3, 1, torch.randn(0, 2, 5, 5)),
    "adaptive_pool_1": lambda: adaptive_pool_case(1, torch.randn(3, 4, 7, 5)),
    # Windows of PyTorch's start/end formula: uneven and overlapping (7 rows into 3), and more
    # outputs than inputs (3 rows into 4: some rows in two windows).
    "adaptive_pool_3": lambda: adaptive_pool_case(3, torch.randn(2, 2, 7, 10)),
    "adaptive_pool_4_of_3": lambda: adaptive_pool_case(4, torch.randn(1, 2, 3, 5)),
    "adaptive_pool_empty": lambda: adaptive_pool_case(1, torch.randn(0, 4, 3, 3)),
    # Inputs offset from 0 and scaled: the statistics must not lose the variance to the mean.
    "batch_norm1d_2d": lambda: batch_norm_case("BatchNorm1d", torch.randn(16, 5) * 3 + 4),
    "batch_norm1d_3d": lambda: batch_norm_case("BatchNorm1d", torch.randn(4, 6, 7) * 2 - 5,
                                               momentum=0.3),
    "batch_norm1d_eval": lambda: batch_norm_case("BatchNorm1d", torch.randn(8, 5, 3), "eval"),
    "batch_norm2d": lambda: batch_norm_case("BatchNorm2d", torch.randn(3, 4, 5, 6) + 10,
                                            eps=1e-3),
    "batch_norm2d_two_rows": lambda: batch_norm_case("BatchNorm2d", torch.randn(2, 3, 1, 1)),
    "batch_norm2d_eval": lambda: batch_norm_case("BatchNorm2d", torch.randn(2, 4, 3, 3), "eval"),
    "small_cnn": lambda: module_case({"layer": "small_cnn"}, small_cnn(), torch.randn(3, 1, 8, 6)),
    "gelu_tanh": lambda: activation_case("gelu_tanh", nn.GELU(approximate="tanh")),
    # LayerNorm over the last dimension of 2-D, 3-D and empty inputs, rows far from 0.
    "layer_norm_2d": lambda: layer_norm_case(torch.randn(6, 8) * 3 + 5),
    "layer_norm_3d": lambda: layer_norm_case(torch.randn(2, 5, 16) * 0.5 - 2),
    "layer_norm_eps": lambda: layer_norm_case(torch.randn(4, 3) * 1e-2, eps=1e-3),
    "layer_norm_empty": lambda: layer_norm_case(torch.randn(0, 4, 8)),
    # Causal self-attention: several heads, one head, one token, an empty batch, a GPT-sized
    # block, and one layer called twice in a pass.
    "attention_3heads": lambda: attention_case(12, 3, (2, 5, 12)),
    "attention_1head": lambda: attention_case(6, 1, (3, 4, 6)),
    "attention_1token": lambda: attention_case(8, 2, (3, 1, 8)),
    "attention_empty_batch": lambda: attention_case(8, 2, (0, 3, 8)),
    "attention_gpt": lambda: attention_case(32, 4, (2, 16, 32)),
    "attention_twice": lambda: attention_case(8, 2, (2, 6, 8), twice=True),
}


def max_error(ours, reference):
    """max |ours - reference| and that divided by 1 + max |reference|."""
    if reference.size == 0:
        return 0.0, 0.0
    diff = np.abs(ours.astype(np.float64) - reference).max()
    return diff, diff / (1 + np.abs(reference).max())


def compare(case, out):
    """(ok, the printed verdict) for the driver's outputs."""
    if sorted(out) != sorted(case.expected):
        return False, f"outputs {sorted(out)}, expected {sorted(case.expected)}"
    if case.check:
        ok, diff, note = case.check(out)
        return ok, f"max diff {diff:.2e}  {note}"
    worst, worst_scaled, worst_name, torch_scaled = 0.0, 0.0, "", 0.0
    for name, reference in case.expected.items():
        ours = out[name]
        if ours.shape != reference.shape:
            return False, f"{name} has shape {ours.shape}, expected {reference.shape}"
        if case.exact:
            if ours.dtype != reference.dtype or not np.array_equal(ours, reference):
                return False, f"{name} differs from PyTorch's (must be bit-exact)"
            continue
        diff, scaled = max_error(ours, reference)
        if scaled >= worst_scaled:
            worst, worst_scaled, worst_name = diff, scaled, name
        torch_scaled = max(torch_scaled, max_error(case.torch32[name], reference)[1])
    if case.exact:
        return True, "bit-exact"
    return worst_scaled <= TOLERANCE, (f"max diff {worst:.2e} in {worst_name}  scaled "
                                       f"{worst_scaled:.2e}  (torch float32: {torch_scaled:.2e})")


def run(driver, work, cases):
    """Runs the driver once on every case's file; {name: (ok, the printed verdict)}."""
    files = {name: (f"{work}/{name}.in.safetensors", f"{work}/{name}.out.safetensors")
             for name in cases}
    for name, case in cases.items():
        safetensors_io.write(files[name][0], case.inputs, case.metadata)
        if os.path.exists(files[name][1]):
            os.remove(files[name][1])  # from an earlier run in --dir
    driver_run = subprocess.run([driver, *(f for pair in files.values() for f in pair)],
                                capture_output=True, text=True)
    verdicts = {}
    for name, case in cases.items():
        source, result = files[name]
        if os.path.exists(result):
            verdicts[name] = compare(case, safetensors_io.read(result)[0])
        else:
            errors = [line for line in driver_run.stderr.splitlines() if source in line]
            why = " ".join(errors) or f"exit status {driver_run.returncode} {driver_run.stderr}"
            verdicts[name] = False, "driver failed: " + why
    return verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("driver", help="path to the ddp_layer_oracle executable")
    parser.add_argument("cases", nargs="*", help=f"some of: {', '.join(CASES)} (default: all)")
    parser.add_argument("--dir",
                        help="keep the files in this folder (default: a temporary one, removed)")
    args = parser.parse_intermixed_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}")
    torch.set_num_threads(1)
    attention_matches_sdpa()
    print(f"torch {torch.__version__}; pass: max |ddp - torch float64| <= {TOLERANCE:g} * "
          f"(1 + max |torch float64|) per output")
    cases = {}
    for index, (name, build) in enumerate(CASES.items()):
        torch.manual_seed(1000 + index)  # by position in CASES: a case alone sees the same numbers
        if not args.cases or name in args.cases:
            cases[name] = build()
    with tempfile.TemporaryDirectory(prefix="ddp_layers_") as scratch:
        work = args.dir or scratch
        os.makedirs(work, exist_ok=True)
        verdicts = run(args.driver, work, cases)
    failures = [name for name, (ok, _) in verdicts.items() if not ok]
    for name, (ok, verdict) in verdicts.items():
        print(f"{name:22s} {'ok  ' if ok else 'FAIL'} {verdict}")
    if failures:
        print(f"FAILED: {len(failures)} case(s) disagree with PyTorch: {' '.join(failures)}")
        return 1
    print("all cases agree with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
