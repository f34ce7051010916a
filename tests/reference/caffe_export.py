"""Checks `zfvis export` with an independent reader: OpenCV dnn loads the exported V2 .caffemodel and must give
the same outputs as from the original weights (.caffemodel V1/V2 or .h5 re-encoded by Caffe as .caffemodel).
Needs opencv-python-headless<5 and a built zfvis (cargo build --release -p zfvis-cli, or $ZFVIS). Prints the largest
difference per layer; exits 1 above 1e-4 of the output's range.
Usage: python3 tests/reference/caffe_export.py"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
F = ROOT.parent / "shared/fixtures/caffe/cifar10_quick"
ZFVIS = Path(os.environ.get("ZFVIS", ROOT / "target/release/zfvis"))
CASES = [  # (weights to export, the weights OpenCV reads for the truth)
    ("cifar10_quick_iter_4000.caffemodel", "cifar10_quick_iter_4000.caffemodel"),
    ("cifar10_quick_iter_5000_v1.caffemodel", "cifar10_quick_iter_5000_v1.caffemodel"),
    ("cifar10_quick_iter_5000.caffemodel.h5", "cifar10_quick_iter_5000.from_h5.caffemodel"),
]
LAYERS = ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "ip1", "ip2", "prob"]

rng = np.random.default_rng(0)
x = (rng.random((4, 3, 32, 32), dtype=np.float32) * 255 - 128).astype(np.float32)
worst = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for exported, truth in CASES:
        out = Path(tmp) / (exported.split(".")[0] + ".exported.caffemodel")
        subprocess.run([ZFVIS, "export", F / "cifar10_quick.prototxt", F / exported, "-o", out], check=True,
                       capture_output=True)
        got, want = (cv2.dnn.readNetFromCaffe(str(F / "cifar10_quick.prototxt"), str(w)) for w in (out, F / truth))
        for net in (got, want):
            net.setInput(x)
        a, b = got.forward(LAYERS), want.forward(LAYERS)
        errs = [float(np.abs(p - q).max() / max(1e-12, float(np.ptp(q)))) for p, q in zip(a, b)]
        worst = max(worst, *errs)
        print(f"{exported} → V2: max |Δ| / range over {len(LAYERS)} layers, 4 inputs: {max(errs):.2e}")
print(f"worst {worst:.2e}")
sys.exit(0 if worst <= 1e-4 else 1)
