#!/usr/bin/env python3
"""The training benchmark's PyTorch peer: training iterations per second (forward, SoftmaxWithLoss, backward,
Caffe's SGD update with momentum and weight decay) of full-size LeNet (batch 64, random MNIST-shaped data)
and cifar10_quick (batch 100, random 3x32x32 data) on the CPU, one thread by default.

    python3 tests/bench/train_torch.py [--net lenet|cifar10_quick|all] [--seconds 3] [--threads 1] [--runs 5]

Prints one JSON line per net on stdout, e.g.
    {"net": "lenet", "batch": 64, "iters_per_s": 61.2, "runs": [60.8, ...], "iters_per_run": 180, ...}
(iters_per_s is the median of the runs; progress goes to stderr). From Python: `from train_torch import bench;
bench("lenet", seconds=3, threads=1)` returns the same dict. Needs torch (CPU) and numpy.

Method: torch.set_num_threads(threads) and torch.set_num_interop_threads(1); a warm-up of about 1 s; N
iterations per run, N chosen from the warm-up's speed so that a run takes about --seconds; --runs runs; the
median of the runs' iterations per second. Inputs are 4 pre-made seeded batches used in turn, so no random
numbers are drawn or converted while timing. The machine is noisy: compare numbers taken close together.

The nets mirror BVLC's train_test prototxts layer by layer: LeNet (examples/mnist/lenet_train_test.prototxt:
data scaled by 0.00390625, conv1 20 5x5, pool1 MAX 2 s2, conv2 50 5x5, pool2 MAX 2 s2, ip1 500, relu1,
ip2 10) and cifar10_quick (examples/cifar10/cifar10_quick_train_test.prototxt: conv1 32 5x5 pad 2, pool1
MAX 3 s2, relu1, conv2 32 5x5 pad 2, relu2, pool2 AVE 3 s2, conv3 64 5x5 pad 2, relu3, pool3 AVE 3 s2, ip1
64, ip2 10, no ReLU between ip1 and ip2). Pooling uses ceil_mode=True (Caffe rounds up: 32 -> 16 -> 8 -> 4
in cifar10_quick, where floor would give 15 -> 7 -> 3) and AVE count_include_pad=True (Caffe's divisor; with
pad 0 an edge window is divided by its clipped size, see tests/reference/train_step.py). Fillers: LeNet
xavier (uniform, fan_in) weights, cifar10_quick gaussian with the prototxt's std; biases 0. The loss is
cross_entropy with mean reduction (Caffe's VALID normalization).

The update is Caffe's SGDSolver::ApplyUpdate written with in-place torch ops under no_grad (the same work
torch.optim.SGD does, in Caffe's order): g += weight_decay decay_mult w; v = momentum v + rate lr_mult g;
w -= v; lr_mult 1 for weights and 2 for biases, decay_mult 1. Solvers: LeNet base_lr 0.01, momentum 0.9,
weight_decay 0.0005, lr_policy inv (gamma 0.0001, power 0.75); cifar10_quick base_lr 0.001, momentum 0.9,
weight_decay 0.004, fixed.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NETS = {
    "lenet": {"batch": 64, "input": (1, 28, 28),
              "solver": {"base_lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005, "lr_policy": "inv",
                         "gamma": 0.0001, "power": 0.75}},
    "cifar10_quick": {"batch": 100, "input": (3, 32, 32),
                      "solver": {"base_lr": 0.001, "momentum": 0.9, "weight_decay": 0.004, "lr_policy": "fixed"}},
}


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.pool2 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.ip1 = nn.Linear(50 * 4 * 4, 500)
        self.ip2 = nn.Linear(500, 10)
        for m in (self.conv1, self.conv2, self.ip1, self.ip2):
            fan_in = m.weight[0].numel()
            nn.init.uniform_(m.weight, -math.sqrt(3 / fan_in), math.sqrt(3 / fan_in))  # Caffe's xavier
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = F.relu(self.ip1(x.flatten(1)))
        return self.ip2(x)


class Cifar10Quick(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 32, 5, padding=2)
        self.pool2 = nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=True)
        self.conv3 = nn.Conv2d(32, 64, 5, padding=2)
        self.pool3 = nn.AvgPool2d(3, 2, ceil_mode=True, count_include_pad=True)
        self.ip1 = nn.Linear(64 * 4 * 4, 64)
        self.ip2 = nn.Linear(64, 10)
        for m, std in ((self.conv1, 0.0001), (self.conv2, 0.01), (self.conv3, 0.01), (self.ip1, 0.1), (self.ip2, 0.1)):
            nn.init.normal_(m.weight, 0, std)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.pool1(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = self.pool3(F.relu(self.conv3(x)))
        return self.ip2(self.ip1(x.flatten(1)))


def make(net):
    return LeNet() if net == "lenet" else Cifar10Quick()


def batches(net, count=4):
    cfg = NETS[net]
    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        pix = rng.integers(0, 256, (cfg["batch"],) + cfg["input"])
        x = pix * 0.00390625 if net == "lenet" else pix - 128.0  # LeNet's scale; cifar: mean-subtracted-like
        out.append((torch.tensor(x, dtype=torch.float32), torch.tensor(rng.integers(0, 10, cfg["batch"]))))
    return out


class CaffeSGD:
    """SGDSolver::ApplyUpdate: L2 regularization, momentum history, Net::Update."""

    def __init__(self, model, solver):
        self.s = solver
        self.params = [(p, 2.0 if name.endswith("bias") else 1.0, 1.0) for name, p in model.named_parameters()]
        self.hist = [torch.zeros_like(p) for p, _, _ in self.params]
        self.iter = 0

    def rate(self):
        s = self.s
        if s["lr_policy"] == "inv":
            return s["base_lr"] * (1 + s["gamma"] * self.iter) ** (-s["power"])
        return s["base_lr"]

    @torch.no_grad()
    def step(self):
        rate = self.rate()
        for (p, lr_mult, decay_mult), v in zip(self.params, self.hist):
            g = p.grad
            g.add_(p, alpha=self.s["weight_decay"] * decay_mult)
            v.mul_(self.s["momentum"]).add_(g, alpha=rate * lr_mult)
            p.sub_(v)
        self.iter += 1


def bench(net, seconds=3.0, threads=1, runs=5, warmup=1.0, log=None):
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work; already 1 when called again
        pass
    torch.manual_seed(0)
    model = make(net)
    model.train()
    opt = CaffeSGD(model, NETS[net]["solver"])
    data = batches(net)
    losses = []

    def iterate(n):
        for i in range(n):
            x, y = data[i % len(data)]
            model.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        losses.append(float(loss.detach()))

    t0 = time.perf_counter()
    n_warm = 0
    while time.perf_counter() - t0 < warmup or n_warm < 3:
        iterate(1)
        n_warm += 1
    per_iter = (time.perf_counter() - t0) / n_warm
    n = max(1, round(seconds / per_iter))
    rates = []
    for r in range(runs):
        t = time.perf_counter()
        iterate(n)
        dt = time.perf_counter() - t
        rates.append(n / dt)
        if log:
            print(f"{net}: run {r + 1}/{runs}: {n} iterations in {dt:.2f} s, {n / dt:.2f} it/s", file=log)
    return {"net": net, "batch": NETS[net]["batch"], "iters_per_s": round(statistics.median(rates), 3),
            "runs": [round(x, 3) for x in rates], "iters_per_run": n, "threads": threads,
            "interop_threads": torch.get_num_interop_threads(), "warmup_iters": n_warm,
            "last_loss": round(losses[-1], 4), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=["lenet", "cifar10_quick", "all"], default="all")
    ap.add_argument("--seconds", type=float, default=3.0, help="target length of one run (default 3)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up iterations (default 1)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    for net in (["lenet", "cifar10_quick"] if args.net == "all" else [args.net]):
        res = bench(net, args.seconds, args.threads, args.runs, args.warmup, log=sys.stderr)
        print(json.dumps(res), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
