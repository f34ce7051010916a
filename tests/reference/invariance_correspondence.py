#!/usr/bin/env python3
"""Reference invariance curves (Zeiler & Fergus 2014, Fig. 5) and correspondence Δ (Section 5, Table 1) from
OpenCV dnn, for crates/core/tests/invariance.rs and crates/core/tests/correspondence.rs.

Needs numpy, opencv-python-headless (< 5) and grpcio-tools (for refdata.publish), and ../shared/fixtures:

    python3 tests/reference/invariance_correspondence.py            # regenerate (from the repository root)
    python3 tests/reference/invariance_correspondence.py --check    # regenerate in memory, compare

No zfvis code is used. The transforms are written here in numpy from the formula documented on
zfvis_core::vis::invariance::apply: output pixel (y, x) samples the input bilinearly at (ys, xs), pixel
centres at integers, centre (cy, cx) = ((H-1)/2, (W-1)/2), samples outside the image are 0:
  translate dy:   (y - dy, x)
  scale s:        (cy + (y - cy)/s, cx + (x - cx)/s)
  rotate t (deg): (cy + cos t (y - cy) + sin t (x - cx), cx - sin t (y - cy) + cos t (x - cx)),
                  cos and sin exact (0, +-1) at multiples of 90 degrees,
all in float64 from the float32 parameter, rounded to float32 at the end.

Files written to crates/core/tests/data/invariance/:
- synthetic_input.npy: a random 1x3x12x10 float32 image (not a fixture); synthetic_transforms.npy: its
  transforms (T x 3 x 12 x 10, float64, before the float32 rounding), listed in invariance.json.
- invariance.json: for three CIFAR-10 test images (from cifar10_test_10k.npz, already RGB bytes, so no JPEG
  decoder is involved; preprocessed as ../shared/fixtures/README.md says: RGB planes, 0..255 minus
  mean_approx.npy) and cifar10_quick with the iter_4000 weights, per kind and value: the Euclidean distance
  (float64 over the float32 outputs) between OpenCV's outputs for the original and the transformed image at
  conv1 and ip1 (cifar10_quick has no ReLU after ip1: ip1 is the last hidden layer), and the probability of
  the true class.
- correspondence.json: for five dog images with fixed 8x8 rectangles (chosen by position only, not checked
  to cover the same part of each dog), fill 0, at conv1, pool2 (after relu2) and ip1: Δ = sum over i<j of
  the Hamming distance of np.sign(eps_i), np.sign(eps_j), eps_i = f(x_i) - f(x_i occluded) in float32; and,
  per layer, how many entries of eps are non-zero but tiny (|eps| <= 1e-5 max(1, max |f|)), where a float32
  engine could get another sign.
"""

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refdata import ROOT, publish  # noqa: E402

SHARED = ROOT.parent / "shared" / "fixtures"
NET = SHARED / "caffe" / "cifar10_quick"
OUT = ROOT / "crates" / "core" / "tests" / "data" / "invariance"

SYNTHETIC = [
    ("translate", v) for v in (-3.0, -1.25, 0.4, 2.0, 5.0, 13.0)
] + [("scale", v) for v in (0.5, 0.8, 1.25, 2.0, 3.3)] + [
    ("rotate", v) for v in (30.0, 45.0, 90.0, 180.0, 270.0, 137.5, -60.0, 390.0)
]
IMAGES = ["test/airplane/0000.jpg", "test/cat/0003.jpg", "test/ship/0001.jpg"]
SWEEPS = {
    "translate": [-8.0, -3.5, 0.0, 2.0, 6.0],
    "scale": [0.6, 0.9, 1.0, 1.3, 1.8],
    "rotate": [0.0, 30.0, 90.0, 135.0, 180.0, 300.0],
}
INV_LAYERS = ["conv1", "ip1"]
DOGS = [f"test/dog/{i:04d}.jpg" for i in range(5)]
RECTS = [(4, 10, 8, 8), (6, 12, 8, 8), (5, 8, 8, 8), (3, 14, 8, 8), (8, 10, 8, 8)]  # y, x, height, width
COR_LAYERS = ["conv1", "pool2", "ip1"]


def sin_cos(degrees):
    r = degrees % 360.0
    exact = {0.0: (0.0, 1.0), 90.0: (1.0, 0.0), 180.0: (0.0, -1.0), 270.0: (-1.0, 0.0)}
    if r in exact:
        return exact[r]
    t = np.deg2rad(r)
    return np.sin(t), np.cos(t)


def transform(image, kind, value):
    """image: 1xCxHxW float32; returns the float64 result (before rounding to float32). The parameter is
    taken as zfvis takes it, a float32 (0.8 becomes 0.800000011920929)."""
    value = float(np.float32(value))
    _, c, h, w = image.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    y, x = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    if kind == "translate":
        ys, xs = y - value, x
    elif kind == "scale":
        ys, xs = cy + (y - cy) / value, cx + (x - cx) / value
    else:
        s, co = sin_cos(value)
        ys, xs = cy + co * (y - cy) + s * (x - cx), cx - s * (y - cy) + co * (x - cx)
    i0, j0 = np.floor(ys), np.floor(xs)
    fy, fx = ys - i0, xs - j0
    src = image[0].astype(np.float64)
    out = np.zeros((c, h, w))
    for di, dj, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        i, j = (i0 + di).astype(np.int64), (j0 + dj).astype(np.int64)
        inside = (i >= 0) & (i < h) & (j >= 0) & (j < w)
        vals = src[:, np.clip(i, 0, h - 1), np.clip(j, 0, w - 1)]
        out += np.where(inside, wt, 0.0) * vals
    return out[None]


def load():
    net = cv2.dnn.readNetFromCaffe(str(NET / "cifar10_quick.prototxt"), str(NET / "cifar10_quick_iter_4000.caffemodel"))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    data = np.load(SHARED / "images" / "cifar10_test_10k.npz")
    mean = np.load(NET / "mean_approx.npy").astype(np.float32)
    names = list(data["names"])

    def image(name):
        k = names.index(name)
        x = data["x"][k].astype(np.float32).transpose(2, 0, 1) - mean
        return x[None].astype(np.float32), int(data["y"][k])

    return net, image


def outputs(net, x, layers):
    net.setInput(np.ascontiguousarray(x, dtype=np.float32))
    return [o.astype(np.float32).reshape(-1) for o in net.forward(layers)]


def generate(_pb, folder: Path):
    cv2.setNumThreads(1)
    rng = np.random.default_rng(20140612)
    synth = (rng.standard_normal((1, 3, 12, 10)) * 50).astype(np.float32)
    np.save(folder / "synthetic_input.npy", synth)
    np.save(folder / "synthetic_transforms.npy", np.concatenate([transform(synth, k, v) for k, v in SYNTHETIC]))

    net, image = load()
    inv = {
        "model": "caffe/cifar10_quick/cifar10_quick.prototxt + cifar10_quick_iter_4000.caffemodel",
        "engine": f"OpenCV {cv2.__version__} dnn",
        "synthetic": [{"kind": k, "value": v} for k, v in SYNTHETIC],
        "layers": INV_LAYERS,
        "images": [],
    }
    for name in IMAGES:
        x, label = image(name)
        base = outputs(net, x, INV_LAYERS + ["prob"])
        entry = {"name": name, "label": label, "top1": int(np.argmax(base[-1])), "sweeps": {}}
        for kind, values in SWEEPS.items():
            dist = [[] for _ in INV_LAYERS]
            prob = []
            for v in values:
                t = transform(x, kind, v).astype(np.float32)
                outs = outputs(net, t, INV_LAYERS + ["prob"])
                for l in range(len(INV_LAYERS)):
                    d = outs[l].astype(np.float64) - base[l].astype(np.float64)
                    dist[l].append(float(np.sqrt(np.sum(d * d))))
                prob.append(float(outs[-1][label]))
            entry["sweeps"][kind] = {"values": values, "distances": dist, "prob": prob}
        inv["images"].append(entry)
    (folder / "invariance.json").write_text(json.dumps(inv, indent=1) + "\n")

    cor = {"model": inv["model"], "engine": inv["engine"], "images": DOGS, "fill": 0.0, "layers": []}
    cor["rects"] = [{"y": y, "x": x, "height": h, "width": w} for y, x, h, w in RECTS]
    xs = [image(n)[0] for n in DOGS]
    feats = [outputs(net, x, COR_LAYERS) for x in xs]
    occ = []
    for x, (y0, x0, h, w) in zip(xs, RECTS):
        o = x.copy()
        o[:, :, y0 : y0 + h, x0 : x0 + w] = 0.0
        occ.append(outputs(net, o, COR_LAYERS))
    for l, layer in enumerate(COR_LAYERS):
        eps = [f[l] - o[l] for f, o in zip(feats, occ)]
        signs = [np.sign(e) for e in eps]
        delta = sum(int(np.sum(signs[i] != signs[j])) for i in range(5) for j in range(i + 1, 5))
        scale = max(1.0, max(float(np.abs(f[l]).max()) for f in feats))
        tiny = sum(int(np.sum((e != 0) & (np.abs(e) <= 1e-5 * scale))) for e in eps)
        n = len(eps[0])
        cor["layers"].append(
            {"layer": layer, "len": n, "delta": delta, "normalised": delta / (10 * n), "tiny_eps": tiny}
        )
    (folder / "correspondence.json").write_text(json.dumps(cor, indent=1) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored files instead of writing")
    publish(generate, OUT, ap.parse_args().check)
