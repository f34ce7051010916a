#!/usr/bin/env python3
"""Reference SoftmaxWithLoss and Accuracy values for crates/core/tests/train_loss.rs, from PyTorch's
cross_entropy (mean over the labels not ignored, which is Caffe's VALID normalization) and its autograd
gradient, and Caffe's accuracy rule (a label is found when fewer than k classes score strictly higher)
in numpy. No zfvis code is used.

    python3 tests/reference/train_loss.py            # regenerate (from the repository root)
    python3 tests/reference/train_loss.py --check    # compare with the committed file
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "core" / "tests" / "data" / "train_loss" / "reference.json"


def case(name, shape, ignore, seed):
    rng = np.random.default_rng(seed)
    scores = (rng.standard_normal(shape) * 3).astype(np.float32)
    n, c = shape[0], shape[1]
    label_shape = (n,) + tuple(shape[2:])
    labels = rng.integers(0, c, size=label_shape)
    if ignore is not None:
        labels.flat[::4] = ignore
    x = torch.tensor(scores, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor(labels), ignore_index=-100 if ignore is None else ignore)
    loss.backward()
    acc = {}
    for k in (1, 3):
        moved = np.moveaxis(scores, 1, -1).reshape(-1, c)
        flat = labels.reshape(-1)
        keep = flat != (ignore if ignore is not None else -10**9)
        true = moved[np.arange(len(flat)), np.where(keep, flat, 0)]
        better = (moved > true[:, None]).sum(1)
        acc[str(k)] = float(((better < k) & keep).sum() / max(1, keep.sum()))
    return name, {
        "shape": list(shape), "ignore": ignore, "scores": scores.ravel().tolist(),
        "labels": labels.ravel().astype(float).tolist(), "loss": float(loss.detach()), "grad": x.grad.numpy().ravel().tolist(),
        "accuracy": acc,
    }


def generate():
    return dict([
        case("classes", (8, 10), None, 1),
        case("maps_with_ignore", (2, 5, 3, 4), 255, 2),
    ])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true")
    data = generate()
    if p.parse_args().check:
        old = json.loads(OUT.read_text())
        same = json.dumps(old, sort_keys=True) == json.dumps(json.loads(json.dumps(data)), sort_keys=True)
        print("the committed file matches" if same else "the committed file differs")
        sys.exit(0 if same else 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
