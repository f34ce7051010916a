"""Native forward-pass benchmark: zfvis (release CLI) against OpenCV dnn, measured in the same run.

Usage: python3 tests/bench/native_forward.py [--runs N]   (from the repo root; needs ../shared,
opencv-python-headless<5 and numpy, and `cargo build --release -p zfvis-cli`).
Both run batch 1, single thread, on the same seeded input shape; medians in ms.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "caffe")
MODELS = [
    ("cifar10_quick", "cifar10_quick/cifar10_quick.prototxt", "cifar10_quick/cifar10_quick_iter_4000.caffemodel", (1, 3, 32, 32)),
    ("LeNet", "lenet/lenet.prototxt", "lenet/lenet_iter_10000.caffemodel", (1, 1, 28, 28)),
]


def opencv_median(proto, weights, shape, runs):
    net = cv2.dnn.readNetFromCaffe(proto, weights)
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    net.setInput(x)
    net.forward()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        net.setInput(x)
        net.forward()
        ms.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ms))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    if not os.path.isdir(SHARED):
        print("SKIPPED: ../shared is absent")
        return
    cv2.setNumThreads(1)
    exe = os.path.join(ROOT, "target", "release", "zfvis")
    print(f"| model | zfvis native (ms) | OpenCV dnn {cv2.__version__}, 1 thread (ms) | ratio zfvis/OpenCV "
          "| zfvis deconvnet projection (ms) | projection/forward |")
    print("|---|---|---|---|---|---|")
    for name, proto, weights, shape in MODELS:
        proto, weights = os.path.join(SHARED, proto), os.path.join(SHARED, weights)
        ours = json.loads(subprocess.check_output([exe, "bench", proto, weights, "--runs", str(args.runs), "--json"]))
        theirs = opencv_median(proto, weights, shape, args.runs)
        fwd, proj = ours["forward_ms"][0], ours["projection_ms"][0]
        print(f"| {name} | {fwd:.3f} | {theirs:.3f} | {fwd / theirs:.2f} | {proj:.3f} | {proj / fwd:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
