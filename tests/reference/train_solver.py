#!/usr/bin/env python3
"""Reference SGD runs and learning-rate schedules for crates/core/tests/train_solver.rs.

Needs numpy and torch (CPU):

    python3 tests/reference/train_solver.py            # regenerate (from the repository root)
    python3 tests/reference/train_solver.py --check    # regenerate in memory, compare with the committed file

No zfvis code is used. Writes crates/core/tests/data/train_solver/reference.json with:

- "sgd_torch": 20 steps of torch.optim.SGD(momentum=0.9, weight_decay=5e-4) at a constant lr 0.01 on a
  4x3 weight (lr_mult 1, decay_mult 1: lr 0.01, weight_decay 5e-4) and a 4-element bias (lr_mult 2,
  decay_mult 0: lr 0.02, weight_decay 0), as two param groups, in float32. PyTorch's rule
  v = m v + (g + wd w); w -= lr v equals Caffe's v = m v + lr (g + wd w); w -= v while lr is constant.
  Initial weights and the gradient of every step are seeded float32 numbers (not a real loss), listed in
  the file; "after" is the weights after each step.
- "sgd_caffe_step": the same blobs and gradients with Caffe's rule written out here in float64 numpy from
  sgd_solver.cpp (rate changing under lr_policy "step": base_lr 0.1, gamma 0.5, stepsize 5), where
  PyTorch's rule would differ: v = m v + rate lr_mult (g + weight_decay decay_mult w); w -= v.
- "schedules": learning rates at iterations 0..N from torch.optim.lr_scheduler: StepLR (step),
  MultiStepLR (multistep) and LambdaLR with (1 + gamma it)^(-power) (inv), each stepped once per
  iteration as Caffe's solver calls GetLearningRate.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "core" / "tests" / "data" / "train_solver" / "reference.json"

STEPS = 20
SHAPES = {"weight": (4, 3), "bias": (4,)}
MULTS = {"weight": (1.0, 1.0), "bias": (2.0, 0.0)}


def blobs_and_grads():
    rng = np.random.default_rng(20240607)
    init = {k: rng.normal(0, 1, s).astype(np.float32) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in SHAPES.items()} for _ in range(STEPS)]
    return init, grads


def flat(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def sgd_torch(init, grads, lr, momentum, wd):
    torch.manual_seed(0)
    params = {k: torch.nn.Parameter(torch.from_numpy(v.copy())) for k, v in init.items()}
    groups = [
        {"params": [params[k]], "lr": lr * MULTS[k][0], "weight_decay": wd * MULTS[k][1]} for k in SHAPES
    ]
    opt = torch.optim.SGD(groups, lr=lr, momentum=momentum)
    after = []
    for g in grads:
        for k, p in params.items():
            p.grad = torch.from_numpy(g[k].copy())
        opt.step()
        after.append({k: flat(p.detach().numpy()) for k, p in params.items()})
    return after


def caffe_step_rate(base_lr, gamma, stepsize, it):
    return base_lr * gamma ** (it // stepsize)


def sgd_caffe(init, grads, rate_of, momentum, wd):
    w = {k: v.astype(np.float64) for k, v in init.items()}
    hist = {k: np.zeros(s) for k, s in SHAPES.items()}
    after = []
    for it, g in enumerate(grads):
        rate = rate_of(it)
        for k in SHAPES:
            lr_mult, decay_mult = MULTS[k]
            d = g[k].astype(np.float64) + wd * decay_mult * w[k]
            hist[k] = momentum * hist[k] + rate * lr_mult * d
            w[k] = w[k] - hist[k]
        after.append({k: flat(v) for k, v in w.items()})
    return after


def schedule(make, base_lr, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    rates = []
    for _ in range(n):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def generate():
    init, grads = blobs_and_grads()
    common = {
        "shapes": {k: list(s) for k, s in SHAPES.items()},
        "mults": {k: list(m) for k, m in MULTS.items()},
        "init": {k: flat(v) for k, v in init.items()},
        "grads": [{k: flat(v) for k, v in g.items()} for g in grads],
    }
    gamma_inv, power = 1e-4, 0.75
    n = 40
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "blobs": common,
        "sgd_torch": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
                      "after": sgd_torch(init, grads, 0.01, 0.9, 5e-4)},
        "sgd_caffe_step": {"base_lr": 0.1, "gamma": 0.5, "stepsize": 5, "momentum": 0.9, "weight_decay": 5e-4,
                           "after": sgd_caffe(init, grads, lambda it: caffe_step_rate(0.1, 0.5, 5, it), 0.9, 5e-4)},
        "schedules": {
            "step": {"base_lr": 0.1, "gamma": 0.1, "stepsize": 7,
                     "rates": schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.1), 0.1, n)},
            "multistep": {"base_lr": 0.01, "gamma": 0.5, "stepvalue": [3, 10, 11, 25],
                          "rates": schedule(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 10, 11, 25], 0.5),
                                            0.01, n)},
            "inv": {"base_lr": 0.01, "gamma": gamma_inv, "power": power, "iters": [0, 1, 100, 1000, 5000, 9999],
                    "rates": [schedule(lambda o: torch.optim.lr_scheduler.LambdaLR(
                        o, lambda it: (1 + gamma_inv * it) ** (-power)), 0.01, it + 1)[-1]
                        for it in [0, 1, 100, 1000, 5000, 9999]]},
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(generate(), indent=1) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} differs from a fresh run", file=sys.stderr)
            sys.exit(1)
        print("reference.json matches")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
