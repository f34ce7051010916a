"""Checks the trainer's snapshots with an independent reader: OpenCV dnn loads the LeNet trained here
(www/examples/lenet/lenet_iter_*.caffemodel, V2 files written by the trainer) with BVLC's deploy
lenet.prototxt from ../shared/fixtures (the same layer names) and must give zfvis's outputs (`zfvis forward
--dump`, with the built-in train_test prototxt) within 1e-4 of each output's range, on 8 of the test digits.
Needs opencv-python-headless<5, a built zfvis (cargo build --release -p zfvis-cli, or $ZFVIS) and the packed
digits (www/data/mnist.bin). Prints the largest difference per layer; exits 1 above the bound.
Usage: python3 tests/reference/trained_export.py"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT.parent / "shared/fixtures/caffe/lenet/lenet.prototxt"
NET = ROOT / "crates/core/src/train/nets/lenet_train_test.prototxt"
ZFVIS = Path(os.environ.get("ZFVIS", ROOT / "target/release/zfvis"))
LAYERS = ["conv1", "pool1", "conv2", "pool2", "ip1", "ip2"]

records = np.fromfile(ROOT / "www/data/mnist.bin", dtype=np.uint8).reshape(-1, 785)
x = (records[8000:8008, 1:].reshape(8, 1, 28, 28).astype(np.float32) * np.float32(0.00390625))
worst = 0.0
with tempfile.TemporaryDirectory() as tmp:
    np.save(Path(tmp) / "x.npy", x)
    for weights in sorted((ROOT / "www/examples/lenet").glob("lenet_iter_*.caffemodel")):
        dump = Path(tmp) / weights.stem
        subprocess.run([ZFVIS, "forward", NET, weights, "--input", Path(tmp) / "x.npy", "--dump", dump],
                       check=True, capture_output=True)
        net = cv2.dnn.readNetFromCaffe(str(DEPLOY), str(weights))
        net.setInput(x)
        outs = net.forward(LAYERS)
        for name, ref in zip(LAYERS, outs):
            ours = np.load(dump / f"{name}.npy")
            err = float(np.abs(ours - ref).max() / max(1.0, float(np.abs(ref).max())))
            worst = max(worst, err)
            print(f"{weights.name} {name}: {err:.1e}")
print(f"worst {worst:.1e}")
sys.exit(0 if worst <= 1e-4 else 1)
