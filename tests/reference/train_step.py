#!/usr/bin/env python3
"""Reference whole training steps (forward, SoftmaxWithLoss, backward, Caffe's SGD update) for the trainer,
in float64 and float32, from PyTorch autograd on torch modules that mirror Caffe layer by layer. No zfvis
code is used. CI does not run this script: its output is committed in crates/core/tests/data/train_step/.

Needs numpy and torch (CPU):

    python3 tests/reference/train_step.py            # regenerate (from anywhere)
    python3 tests/reference/train_step.py --check    # regenerate in memory, compare with the committed files

Two small nets (batch 8), each written three ways from one spec list (NETS below): a torch module
(SpecNet), a Caffe train_test-style net.prototxt (no Data layer: `input: "data"` and `input: "label"` with
input_shape) and the manifest's layer list:

- lenet_small: LeNet's layers at a small size: data 1x12x12 -> conv1 4 3x3 -> pool1 MAX 2 s2 -> conv2 6 3x3
  -> pool2 MAX 2 s2 (3x3 -> 2x2: ceil matters, floor would give 1x1) -> ip1 16 -> relu1 (in place) -> ip2 10
  -> loss (SoftmaxWithLoss).
- cifar_small: cifar10_quick's pattern: data 3x12x12 -> conv1 4 5x5 pad 2 -> pool1 MAX 3 s2 (12 -> 6; floor
  would give 5) -> relu1 (in place, after pooling) -> conv2 4 3x3 pad 1 -> relu2 (in place) -> pool2 AVE 3
  s2 (6 -> 3; floor would give 2; the last window row/column is clipped to 2 inputs) -> ip1 16 -> ip2 10
  (no ReLU between, as in cifar10_quick) -> loss. 12x12 rather than 9x9 so that both poolings need ceil.

Solver for both (solver.prototxt beside each net): Caffe's lenet_solver settings, base_lr 0.01, momentum 0.9,
weight_decay 0.0005, lr_policy "inv", gamma 0.0001, power 0.75. lr_mult 1 (weights) / 2 (biases); decay_mult
is not written in the prototxt, so it is Caffe's default 1 for weights AND biases. The update is Caffe's
SGDSolver::ApplyUpdate written out in numpy in the run's dtype: rate = base_lr (1 + gamma it)^-power at it =
0, 1, 2; g += weight_decay decay_mult w; v = momentum v + rate lr_mult g; w -= v (v starts at 0). Step k
(1-based) runs forward/backward on batch k-1 at the weights after step k-1, as Solver::Step does.

Initial weights and biases are seeded numpy numbers, not Caffe's fillers (biases are nonzero so that the bias
terms and their decay matter from step 1); lenet_small uses xavier-like uniform weights, cifar_small
gaussian ones. Inputs are exact float32 numbers: lenet_small pixel/256 (already scaled by 0.00390625; there
is no transform), cifar_small (pixel - 128)/128. Labels are integers stored as float32 (Caffe's label blob is
float). Everything starts from float32 numbers; the float64 run upcasts them exactly.

Checks made here before writing (the script stops if one fails):
- Pooling: torch max_pool2d / avg_pool2d (ceil_mode=True, count_include_pad=True) against explicit numpy
  loops transcribed from Caffe's pooling_layer.cpp (forward and backward, output size with ceil and the
  "last window starts inside the padded input" clip), on each net's real pooling inputs and on extra cases
  with pad 1 and 2. Finding: they agree exactly (float64 differences 0 / rounding). torch's CPU average
  pooling uses Caffe's divisor rule: pool_size = (min(hs+k, H+pad) - hs) x (same in w), taken BEFORE the
  window is clipped to the input; so with pad 0 (cifar10_quick's pool2/pool3) a ceil-mode edge window
  hanging past the input is divided by its clipped size (e.g. 2x3 = 6, 2x2 = 4 in the corner), and with
  pad > 0 a window over the padding counts the padding but not the part beyond H+pad.
- SoftmaxWithLoss: torch cross_entropy (mean over the batch) against a numpy log-softmax.
- Gradients: autograd against central differences in float64 on a few coordinates of every blob and of the
  input.
- Forward, when cv2 and grpcio-tools are installed (skipped otherwise): each net.prototxt parsed with the
  vendored crates/core/proto/caffe.proto, a temporary .caffemodel of the initial blobs, and OpenCV dnn's
  Caffe importer layer by layer against the float32 activations (relative max difference < 1e-5).

Files (all under crates/core/tests/data/train_step/, names relative to it, listed in manifest.json):
  <net>/net.prototxt, <net>/solver.prototxt
  <net>/init.<layer>.<blob>.npy          initial blobs, float32 (blob 0 weights, 1 bias)
  <net>/batch<k>.data.npy, .label.npy    k = 0, 1, 2; data N x C x H x W float32, label (N,) float32
  <net>/f32/act.<name>.npy               forward outputs on batch 0 at the initial weights, per layer
                                         (in-place ReLUs under their layer name: the value after the ReLU);
                                         float32 run only (size)
  <net>/<f64|f32>/grad.<layer>.<blob>.npy  d loss / d blob on batch 0 at the initial weights (Caffe's diff)
  <net>/<f64|f32>/grad.data.npy          d loss / d data, same batch
  <net>/<f64|f32>/step<k>.<layer>.<blob>.npy  blobs after SGD step k = 1 and 3 (the manifest's "steps"
                                         list has null for step 2; the loss of every step is in "losses")
Layouts are Caffe's (= torch's): convolution weights out x in x kh x kw, InnerProduct weights out x in (input
flattened C x H x W), biases (out,). Losses, rates and shapes are in the manifest.
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "core" / "tests" / "data" / "train_step"

BATCH = 8
STEPS = 3
SAVED_STEPS = (1, 3)  # blobs after these steps are written (step 2's effect shows in step 3 and in losses[2])
SOLVER = {"base_lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005, "lr_policy": "inv", "gamma": 0.0001,
          "power": 0.75}
LR_MULT = [1.0, 2.0]
DECAY_MULT = [1.0, 1.0]

# One spec per layer, in Caffe's order. Convolution: num_output, kernel, stride, pad; Pooling: pool, kernel,
# stride, pad; InnerProduct: num_output; ReLU in place (top == bottom).
NETS = {
    "lenet_small": {
        "input": [BATCH, 1, 12, 12], "seed": 101, "init": "xavier", "data": "mnist",
        "layers": [
            {"name": "conv1", "type": "Convolution", "bottom": "data", "top": "conv1", "num_output": 4,
             "kernel": 3, "stride": 1, "pad": 0},
            {"name": "pool1", "type": "Pooling", "bottom": "conv1", "top": "pool1", "pool": "MAX", "kernel": 2,
             "stride": 2, "pad": 0},
            {"name": "conv2", "type": "Convolution", "bottom": "pool1", "top": "conv2", "num_output": 6,
             "kernel": 3, "stride": 1, "pad": 0},
            {"name": "pool2", "type": "Pooling", "bottom": "conv2", "top": "pool2", "pool": "MAX", "kernel": 2,
             "stride": 2, "pad": 0},
            {"name": "ip1", "type": "InnerProduct", "bottom": "pool2", "top": "ip1", "num_output": 16},
            {"name": "relu1", "type": "ReLU", "bottom": "ip1", "top": "ip1"},
            {"name": "ip2", "type": "InnerProduct", "bottom": "ip1", "top": "ip2", "num_output": 10},
        ],
    },
    "cifar_small": {
        "input": [BATCH, 3, 12, 12], "seed": 202, "init": "gaussian", "data": "cifar",
        "std": {"conv1": 0.1, "conv2": 0.2, "ip1": 0.3, "ip2": 0.3},
        "layers": [
            {"name": "conv1", "type": "Convolution", "bottom": "data", "top": "conv1", "num_output": 4,
             "kernel": 5, "stride": 1, "pad": 2},
            {"name": "pool1", "type": "Pooling", "bottom": "conv1", "top": "pool1", "pool": "MAX", "kernel": 3,
             "stride": 2, "pad": 0},
            {"name": "relu1", "type": "ReLU", "bottom": "pool1", "top": "pool1"},
            {"name": "conv2", "type": "Convolution", "bottom": "pool1", "top": "conv2", "num_output": 4,
             "kernel": 3, "stride": 1, "pad": 1},
            {"name": "relu2", "type": "ReLU", "bottom": "conv2", "top": "conv2"},
            {"name": "pool2", "type": "Pooling", "bottom": "conv2", "top": "pool2", "pool": "AVE", "kernel": 3,
             "stride": 2, "pad": 0},
            {"name": "ip1", "type": "InnerProduct", "bottom": "pool2", "top": "ip1", "num_output": 16},
            {"name": "ip2", "type": "InnerProduct", "bottom": "ip1", "top": "ip2", "num_output": 10},
        ],
    },
}
LOSS = {"name": "loss", "type": "SoftmaxWithLoss", "bottom": ["ip2", "label"], "top": "loss"}


# ---------------------------------------------------------------- shapes, as Caffe computes them

def pooled_size(n, k, s, p):
    """PoolingLayer::Reshape: ceil, then the last window must start inside the padded input."""
    out = int(np.ceil((n + 2 * p - k) / s)) + 1
    if p > 0 and (out - 1) * s >= n + p:
        out -= 1
    return out


def conv_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def shapes(spec):
    """Top shape of every layer (C, H, W or (features,)), in order."""
    c, h, w = spec["input"][1:]
    cur = {"data": (c, h, w)}
    out = {}
    for l in spec["layers"]:
        x = cur[l["bottom"]]
        if l["type"] == "Convolution":
            y = (l["num_output"], conv_size(x[1], l["kernel"], l["stride"], l["pad"]),
                 conv_size(x[2], l["kernel"], l["stride"], l["pad"]))
        elif l["type"] == "Pooling":
            y = (x[0], pooled_size(x[1], l["kernel"], l["stride"], l["pad"]),
                 pooled_size(x[2], l["kernel"], l["stride"], l["pad"]))
        elif l["type"] == "InnerProduct":
            y = (l["num_output"],)
        else:
            y = x
        cur[l["top"]] = y
        out[l["name"]] = y
    return out


def param_shapes(spec):
    """(layer, blob index, shape) of every learnable blob, in Caffe's order."""
    c = spec["input"][1]
    cur = {"data": c}
    sh = shapes(spec)
    out = []
    for l in spec["layers"]:
        x = cur[l["bottom"]]
        if l["type"] == "Convolution":
            out += [(l["name"], 0, (l["num_output"], x, l["kernel"], l["kernel"])), (l["name"], 1, (l["num_output"],))]
        elif l["type"] == "InnerProduct":
            fan_in = int(np.prod(shapes_of_bottom(spec, sh, l["bottom"])))
            out += [(l["name"], 0, (l["num_output"], fan_in)), (l["name"], 1, (l["num_output"],))]
        cur[l["top"]] = sh[l["name"]][0]
    return out


def shapes_of_bottom(spec, sh, bottom):
    if bottom == "data":
        return tuple(spec["input"][1:])
    for l in spec["layers"]:
        if l["top"] == bottom:
            last = sh[l["name"]]
    return last


# ---------------------------------------------------------------- the torch module

class SpecNet(torch.nn.Module):
    """The net as torch modules, one per Caffe layer and named like it. Pooling: ceil_mode=True (Caffe's
    rounding), AVE with count_include_pad=True (Caffe's divisor, see the header). InnerProduct flattens from
    axis 1 (C x H x W), as Caffe does."""

    def __init__(self, spec, blobs, dtype):
        super().__init__()
        self.spec = spec
        self.mods = torch.nn.ModuleDict()
        for l in spec["layers"]:
            t, n = l["type"], l["name"]
            if t == "Convolution":
                w = blobs[(n, 0)]
                m = torch.nn.Conv2d(w.shape[1], w.shape[0], l["kernel"], l["stride"], l["pad"])
            elif t == "InnerProduct":
                w = blobs[(n, 0)]
                m = torch.nn.Linear(w.shape[1], w.shape[0])
            elif t == "Pooling":
                if l["pool"] == "MAX":
                    m = torch.nn.MaxPool2d(l["kernel"], l["stride"], l["pad"], ceil_mode=True)
                else:
                    m = torch.nn.AvgPool2d(l["kernel"], l["stride"], l["pad"], ceil_mode=True,
                                           count_include_pad=True)
            elif t == "ReLU":
                m = torch.nn.ReLU()
            else:
                raise ValueError(t)
            self.mods[n] = m
        self.to(dtype)
        self.set_blobs(blobs, dtype)

    def set_blobs(self, blobs, dtype):
        with torch.no_grad():
            for (n, b), v in blobs.items():
                p = self.mods[n].weight if b == 0 else self.mods[n].bias
                p.copy_(torch.from_numpy(np.asarray(v)).to(dtype))

    def blob(self, n, b):
        return self.mods[n].weight if b == 0 else self.mods[n].bias

    def forward(self, data, acts=None):
        cur = {"data": data}
        for l in self.spec["layers"]:
            x = cur[l["bottom"]]
            if l["type"] == "InnerProduct":
                x = x.flatten(1)
            y = self.mods[l["name"]](x)
            cur[l["top"]] = y
            if acts is not None:
                acts[l["name"]] = y
        return cur["ip2"]


# ---------------------------------------------------------------- numpy references for the checks

def caffe_pool_forward(x, pool, k, s, p):
    """PoolingLayer::Forward_cpu, transcribed (N, C, H, W float64). Returns top and, for MAX, the argmax."""
    n, c, h, w = x.shape
    ph, pw = pooled_size(h, k, s, p), pooled_size(w, k, s, p)
    top = np.zeros((n, c, ph, pw))
    mask = np.full((n, c, ph, pw), -1, dtype=np.int64)
    for i in range(n):
        for ch in range(c):
            for oy in range(ph):
                for ox in range(pw):
                    hs, ws = oy * s - p, ox * s - p
                    if pool == "MAX":
                        he, we = min(hs + k, h), min(ws + k, w)
                        hs, ws = max(hs, 0), max(ws, 0)
                        best, arg = -np.inf, -1
                        for yy in range(hs, he):
                            for xx in range(ws, we):
                                if x[i, ch, yy, xx] > best:  # strict: the first maximum wins
                                    best, arg = x[i, ch, yy, xx], yy * w + xx
                        top[i, ch, oy, ox], mask[i, ch, oy, ox] = best, arg
                    else:
                        he, we = min(hs + k, h + p), min(ws + k, w + p)
                        size = (he - hs) * (we - ws)
                        hs, ws = max(hs, 0), max(ws, 0)
                        he, we = min(he, h), min(we, w)
                        top[i, ch, oy, ox] = x[i, ch, hs:he, ws:we].sum() / size
    return top, mask


def caffe_pool_backward(x_shape, top_diff, mask, pool, k, s, p):
    """PoolingLayer::Backward_cpu, transcribed."""
    n, c, h, w = x_shape
    _, _, ph, pw = top_diff.shape
    d = np.zeros(x_shape)
    for i in range(n):
        for ch in range(c):
            for oy in range(ph):
                for ox in range(pw):
                    g = top_diff[i, ch, oy, ox]
                    if pool == "MAX":
                        a = mask[i, ch, oy, ox]
                        d[i, ch, a // w, a % w] += g
                    else:
                        hs, ws = oy * s - p, ox * s - p
                        he, we = min(hs + k, h + p), min(ws + k, w + p)
                        size = (he - hs) * (we - ws)
                        hs, ws = max(hs, 0), max(ws, 0)
                        he, we = min(he, h), min(we, w)
                        d[i, ch, hs:he, ws:we] += g / size
    return d


def check_pool(x, pool, k, s, p, what):
    """torch's pooling (as SpecNet runs it) against the numpy transcription, forward and backward."""
    rng = np.random.default_rng(7)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if pool == "MAX":
        yt = F.max_pool2d(xt, k, s, p, ceil_mode=True)
    else:
        yt = F.avg_pool2d(xt, k, s, p, ceil_mode=True, count_include_pad=True)
    top, mask = caffe_pool_forward(x.astype(np.float64), pool, k, s, p)
    g = rng.standard_normal(top.shape)
    yt.backward(torch.tensor(g))
    ref_d = caffe_pool_backward(x.shape, g, mask, pool, k, s, p)
    ef = np.abs(yt.detach().numpy() - top).max()
    eb = np.abs(xt.grad.numpy() - ref_d).max()
    floor_shape = tuple((n + 2 * p - k) // s + 1 for n in x.shape[2:])
    print(f"  pool check {what}: {pool} k{k} s{s} pad {p} in {x.shape[2:]} -> out {top.shape[2:]} "
          f"(floor would give {floor_shape}); max |torch - caffe loops| forward {ef:.1e}, backward {eb:.1e}")
    assert yt.shape == top.shape, (yt.shape, top.shape)
    assert ef <= 1e-12 and eb <= 1e-12, what
    return {"case": what, "pool": pool, "kernel": k, "stride": s, "pad": p, "in": list(x.shape[2:]),
            "out": list(top.shape[2:]), "floor_out": list(floor_shape), "max_abs_diff_forward": float(ef),
            "max_abs_diff_backward": float(eb)}


def ave_divisors(h, k, s, p):
    """Caffe's divisor of each output row (the same rule applies per column)."""
    out = []
    for o in range(pooled_size(h, k, s, p)):
        hs = o * s - p
        he = min(hs + k, h + p)
        out.append(he - hs)
    return out


# ---------------------------------------------------------------- data

def make_init(name, spec):
    rng = np.random.default_rng(spec["seed"])
    blobs = {}
    for n, b, shp in param_shapes(spec):
        if b == 1:
            v = rng.uniform(-0.1, 0.1, shp)
        elif spec["init"] == "xavier":
            fan_in = int(np.prod(shp[1:]))
            lim = np.sqrt(3.0 / fan_in)
            v = rng.uniform(-lim, lim, shp)
        else:
            v = rng.standard_normal(shp) * spec["std"][n]
        blobs[(n, b)] = v.astype(np.float32)
    return blobs


def make_batches(spec):
    rng = np.random.default_rng(spec["seed"] + 1)
    out = []
    for _ in range(STEPS):
        pix = rng.integers(0, 256, spec["input"])
        if spec["data"] == "mnist":
            data = (pix * 0.00390625).astype(np.float32)
        else:
            data = ((pix - 128) / 128.0).astype(np.float32)
        label = rng.integers(0, 10, BATCH).astype(np.float32)
        out.append((data, label))
    return out


# ---------------------------------------------------------------- forward/backward and Caffe's SGD

def rate_at(it, dtype):
    s = SOLVER
    return dtype(s["base_lr"]) * dtype((1 + s["gamma"] * it) ** (-s["power"]))


def forward_backward(net, data, label, dtype, acts=None):
    """Loss, d loss/d blob for every blob, d loss/d data."""
    for p in net.parameters():
        p.grad = None
    x = torch.tensor(data, dtype=dtype, requires_grad=True)
    scores = net(x, acts)
    loss = F.cross_entropy(scores, torch.tensor(label.astype(np.int64)))
    loss.backward()
    return loss, x.grad


def run(name, spec, init, batches, tdtype):
    ndtype = np.float64 if tdtype == torch.float64 else np.float32
    net = SpecNet(spec, init, tdtype)
    keys = list(init.keys())
    res = {"losses": [], "steps": []}
    w = {k: init[k].astype(ndtype) for k in keys}
    hist = {k: np.zeros_like(w[k]) for k in keys}
    for it, (data, label) in enumerate(batches):
        net.set_blobs(w, tdtype)
        acts = {} if it == 0 else None
        loss, dgrad = forward_backward(net, data, label, tdtype, acts)
        grads = {k: net.blob(*k).grad.detach().numpy().copy() for k in keys}
        if it == 0:
            res["acts"] = {n: a.detach().numpy().copy() for n, a in acts.items()}
            res["grads"] = grads
            res["data_grad"] = dgrad.numpy().copy()
            res["scores"] = acts["ip2"].detach().numpy().copy()
        res["losses"].append(float(loss.detach()))
        rate = rate_at(it, ndtype)
        for k in keys:
            lr_mult, decay_mult = LR_MULT[k[1]], DECAY_MULT[k[1]]
            g = grads[k].astype(ndtype)
            g = g + ndtype(SOLVER["weight_decay"] * decay_mult) * w[k]           # Regularize (L2)
            hist[k] = ndtype(SOLVER["momentum"]) * hist[k] + ndtype(rate * ndtype(lr_mult)) * g  # ComputeUpdateValue
            w[k] = w[k] - hist[k]                                              # Net::Update
            assert w[k].dtype == ndtype
        res["steps"].append({k: w[k].copy() for k in keys})
    return res


def numpy_loss(scores, label):
    s = scores.astype(np.float64)
    z = s - s.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(label)), label.astype(int)].mean()


def finite_difference_check(name, spec, init, data, label, res64):
    rng = np.random.default_rng(3)
    net = SpecNet(spec, init, torch.float64)
    eps = 1e-6

    def loss_at(blobs, x):
        net.set_blobs(blobs, torch.float64)
        with torch.no_grad():
            s = net(torch.tensor(x, dtype=torch.float64))
            return float(F.cross_entropy(s, torch.tensor(label.astype(np.int64))))

    worst = 0.0
    base = {k: v.astype(np.float64) for k, v in init.items()}
    for k in init:
        for _ in range(4):
            idx = tuple(rng.integers(0, n) for n in init[k].shape)
            plus = {kk: vv.copy() for kk, vv in base.items()}
            minus = {kk: vv.copy() for kk, vv in base.items()}
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num = (loss_at(plus, data) - loss_at(minus, data)) / (2 * eps)
            worst = max(worst, abs(num - res64["grads"][k][idx]))
    x = data.astype(np.float64)
    for _ in range(8):
        idx = tuple(rng.integers(0, n) for n in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (loss_at(base, xp) - loss_at(base, xm)) / (2 * eps)
        worst = max(worst, abs(num - res64["data_grad"][idx]))
    print(f"  {name}: autograd vs central differences (float64), max abs difference {worst:.1e}")
    assert worst < 1e-7, worst
    return worst


# ---------------------------------------------------------------- optional check with OpenCV dnn

def opencv_check(out):
    """Parses each net.prototxt with the vendored caffe.proto (grpcio-tools), writes a .caffemodel of the
    initial blobs in a temporary folder, and compares OpenCV dnn's Caffe importer (its own Caffe pooling
    rules) layer by layer with the float32 activations. Skipped when cv2 or grpc_tools is missing."""
    try:
        import cv2
        import grpc_tools  # noqa: F401
        from google.protobuf import text_format
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from refdata import load_caffe_pb2
    except ImportError as e:
        print(f"OpenCV check skipped ({e})")
        return None
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        pb = load_caffe_pb2(Path(tmp))
        m = json.loads((out / "manifest.json").read_text())
        for name, net in m["nets"].items():
            netp = text_format.Parse((out / net["prototxt"]).read_text(), pb.NetParameter())
            for l in netp.layer:
                for b in (0, 1):
                    f = net["init"].get(f"{l.name}.{b}")
                    if f:
                        arr = np.load(out / f)
                        blob = l.blobs.add()
                        blob.shape.dim.extend(arr.shape)
                        blob.data.extend(arr.ravel().tolist())
            # OpenCV 4.14 cannot create SoftmaxWithLoss: a deploy copy without the loss layer and label.
            deploy = pb.NetParameter()
            deploy.CopyFrom(netp)
            del deploy.layer[-1]
            del deploy.input[1]
            del deploy.input_shape[1]
            assert [l.type for l in netp.layer][-1] == "SoftmaxWithLoss" and list(netp.input) == ["data", "label"]
            model = Path(tmp) / f"{name}.caffemodel"
            model.write_bytes(deploy.SerializeToString())
            for l in deploy.layer:
                del l.blobs[:]
            proto = Path(tmp) / f"{name}.prototxt"
            proto.write_text(text_format.MessageToString(deploy))
            x = np.load(out / net["batches"][0]["data"])
            worst = {}
            for l in net["layers"]:
                if l["type"] == "SoftmaxWithLoss":
                    continue
                cvnet = cv2.dnn.readNetFromCaffe(str(proto), str(model))
                cvnet.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
                cvnet.enableFusion(False)
                cvnet.setInput(x, "data")
                got = cvnet.forward(l["name"])
                ref = np.load(out / net["results"]["f32"]["acts"][l["name"]])
                assert got.shape == ref.shape, (name, l["name"], got.shape, ref.shape)
                worst[l["name"]] = float(np.abs(got - ref).max() / max(1e-30, np.abs(ref).max()))
            print(f"  {name}: OpenCV dnn (Caffe importer) vs the float32 activations, max |diff| / max |ref| per "
                  f"layer: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
            assert max(worst.values()) < 1e-5, worst
            result[name] = worst
    return result


# ---------------------------------------------------------------- prototxt

def prototxt(name, spec):
    n, c, h, w = spec["input"]
    lines = [f'name: "{name}"', 'input: "data"', f"input_shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }}",
             'input: "label"', f"input_shape {{ dim: {n} }}"]
    for l in spec["layers"] + [LOSS]:
        lines.append("layer {")
        lines.append(f'  name: "{l["name"]}"')
        lines.append(f'  type: "{l["type"]}"')
        for b in (l["bottom"] if isinstance(l["bottom"], list) else [l["bottom"]]):
            lines.append(f'  bottom: "{b}"')
        lines.append(f'  top: "{l["top"]}"')
        t = l["type"]
        if t in ("Convolution", "InnerProduct"):
            lines += ["  param {", "    lr_mult: 1", "  }", "  param {", "    lr_mult: 2", "  }"]
        if t == "Convolution":
            lines += ["  convolution_param {", f'    num_output: {l["num_output"]}']
            if l["pad"]:
                lines.append(f'    pad: {l["pad"]}')
            lines += [f'    kernel_size: {l["kernel"]}', f'    stride: {l["stride"]}']
        elif t == "InnerProduct":
            lines += ["  inner_product_param {", f'    num_output: {l["num_output"]}']
        if t in ("Convolution", "InnerProduct"):
            if spec["init"] == "xavier":
                lines += ["    weight_filler {", '      type: "xavier"', "    }"]
            else:
                lines += ["    weight_filler {", '      type: "gaussian"', f'      std: {spec["std"][l["name"]]}', "    }"]
            lines += ["    bias_filler {", '      type: "constant"', "    }", "  }"]
        if t == "Pooling":
            lines += ["  pooling_param {", f'    pool: {l["pool"]}', f'    kernel_size: {l["kernel"]}',
                      f'    stride: {l["stride"]}']
            if l["pad"]:
                lines.append(f'    pad: {l["pad"]}')
            lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"


def solver_prototxt(name):
    s = SOLVER
    return (f'# Solver for the train_step reference (tests/reference/train_step.py); lenet_solver.prototxt\'s settings.\n'
            f'net: "net.prototxt"\nbase_lr: {s["base_lr"]}\nmomentum: {s["momentum"]}\n'
            f'weight_decay: {s["weight_decay"]}\nlr_policy: "{s["lr_policy"]}"\ngamma: {s["gamma"]}\n'
            f'power: {s["power"]}\nmax_iter: {STEPS}\nsolver_mode: CPU\n')


# ---------------------------------------------------------------- main

def generate(out):
    """Writes every file into out (a directory); returns nothing, the manifest is written too."""
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    manifest = {
        "generator": "tests/reference/train_step.py", "torch": torch.__version__, "numpy": np.__version__,
        "conventions": {
            "layout": "Caffe's = torch's: Convolution weights out x in x kh x kw, InnerProduct weights out x in "
                      "(bottom flattened from axis 1, C x H x W), biases (out,); data N x C x H x W; label (N,) "
                      "float32 holding integers",
            "blob_index": "0 = weights, 1 = bias (Caffe's blob order)",
            "dtypes": "init/batch files float32 ('<f4'); f32/ files float32 ('<f4') from a float32 run; f64/ "
                      "files float64 ('<f8') from a float64 run starting from the same (float32) numbers",
            "loss": "SoftmaxWithLoss, normalization VALID = mean over the batch, loss_weight 1",
            "grads": "d loss / d blob (Caffe's diff after Backward, before regularization) and d loss / d data, "
                     "on batch 0 at the initial blobs",
            "acts": "each layer's top on batch 0 at the initial blobs; an in-place ReLU's file is named after "
                    "the ReLU layer and holds the value after it",
            "steps": "steps[k-1] = files of the blobs after k SGD steps (null for step 2, not written); step k "
                     "uses batch k-1 and rate(iter = k-1); losses[k-1] is the loss step k computed (before its "
                     "update)",
            "acts_f64": "not written (size): results.f64.acts is empty",
            "sgd": "Caffe SGDSolver::ApplyUpdate: g = diff + weight_decay*decay_mult*w; "
                   "v = momentum*v + rate*lr_mult*g (v starts at 0); w = w - v; "
                   "rate = base_lr*(1 + gamma*iter)^(-power) (lr_policy inv)",
            "pooling": "output = ceil((in + 2 pad - k)/stride) + 1, minus 1 if pad > 0 and (out-1)*stride >= "
                       "in + pad; AVE divisor = (min(hs+k, in+pad) - hs) * (same for w) with hs = o*stride - pad, "
                       "before clipping the window to the input (so with pad 0 an edge window is divided by "
                       "its clipped size)",
        },
        "solver": dict(SOLVER, lr_mult=LR_MULT, decay_mult=DECAY_MULT, steps=STEPS),
        "nets": {},
    }
    checks = []
    for name, spec in NETS.items():
        d = out / name
        (d / "f64").mkdir(parents=True, exist_ok=True)
        (d / "f32").mkdir(parents=True, exist_ok=True)
        (d / "net.prototxt").write_text(prototxt(name, spec))
        (d / "solver.prototxt").write_text(solver_prototxt(name))
        init = make_init(name, spec)
        batches = make_batches(spec)
        files = {"prototxt": f"{name}/net.prototxt", "solver": f"{name}/solver.prototxt", "init": {},
                 "batches": []}
        for (n, b), v in init.items():
            f = f"{name}/init.{n}.{b}.npy"
            np.save(out / f, v)
            files["init"][f"{n}.{b}"] = f
        for k, (data, label) in enumerate(batches):
            np.save(out / f"{name}/batch{k}.data.npy", data)
            np.save(out / f"{name}/batch{k}.label.npy", label)
            files["batches"].append({"data": f"{name}/batch{k}.data.npy", "label": f"{name}/batch{k}.label.npy"})

        results = {}
        for tag, tdtype in (("f64", torch.float64), ("f32", torch.float32)):
            res = run(name, spec, init, batches, tdtype)
            r = {"losses": res["losses"], "loss": res["losses"][0],
                 "rates": [float(rate_at(it, np.float64 if tag == "f64" else np.float32)) for it in range(STEPS)],
                 "acts": {}, "grads": {}, "steps": []}
            for n, a in res["acts"].items():
                if tag != "f32":  # size: the activations are for locating a difference, float32 is enough
                    break
                f = f"{name}/{tag}/act.{n}.npy"
                np.save(out / f, a)
                r["acts"][n] = f
            for (n, b), g in res["grads"].items():
                f = f"{name}/{tag}/grad.{n}.{b}.npy"
                np.save(out / f, g)
                r["grads"][f"{n}.{b}"] = f
            f = f"{name}/{tag}/grad.data.npy"
            np.save(out / f, res["data_grad"])
            r["data_grad"] = f
            for k, st in enumerate(res["steps"], start=1):
                m = {}
                if k not in SAVED_STEPS:  # size; its loss is still in "losses"
                    r["steps"].append(None)
                    continue
                for (n, b), v in st.items():
                    f = f"{name}/{tag}/step{k}.{n}.{b}.npy"
                    np.save(out / f, v)
                    m[f"{n}.{b}"] = f
                r["steps"].append(m)
            results[tag] = r
            if tag == "f64":
                res64 = res

        # Checks.
        nl = numpy_loss(res64["scores"], batches[0][1])
        print(f"{name}: losses f64 {results['f64']['losses']}, f32 {results['f32']['losses']}; "
              f"numpy log-softmax loss differs by {abs(nl - results['f64']['loss']):.1e}")
        assert abs(nl - results["f64"]["loss"]) < 1e-12
        finite_difference_check(name, spec, init, batches[0][0], batches[0][1], res64)
        tops = {"data": batches[0][0].astype(np.float64)}
        for l in spec["layers"]:
            if l["type"] == "Pooling":
                x = tops[l["bottom"]]
                checks.append(check_pool(x, l["pool"], l["kernel"], l["stride"], l["pad"], f"{name}/{l['name']}"))
            tops[l["top"]] = res64["acts"][l["name"]]
        sh = shapes(spec)
        for l in spec["layers"]:
            got = tuple(res64["acts"][l["name"]].shape[1:])
            assert got == sh[l["name"]], (name, l["name"], got, sh[l["name"]])

        layers = []
        for l in spec["layers"] + [LOSS]:
            e = dict(l)
            e["bottom"] = l["bottom"] if isinstance(l["bottom"], list) else [l["bottom"]]
            e["top"] = [l["top"]]
            if l["name"] in sh:
                e["top_shape"] = [BATCH] + list(sh[l["name"]])
            if l["type"] in ("Convolution", "InnerProduct"):
                e["lr_mult"], e["decay_mult"] = LR_MULT, DECAY_MULT
                e["blob_shapes"] = [list(init[(l["name"], 0)].shape), list(init[(l["name"], 1)].shape)]
            if l["type"] == "Pooling":
                e["round"] = "CEIL"
                if l["pool"] == "AVE":
                    e["ave_divisors_per_axis"] = ave_divisors(shapes_of_bottom(spec, sh, l["bottom"])[1],
                                                              l["kernel"], l["stride"], l["pad"])
            layers.append(e)
        manifest["nets"][name] = {
            "input_shape": spec["input"], "label_shape": [BATCH], "layers": layers,
            "init_note": ("seeded numpy, not Caffe's fillers: xavier-like uniform weights" if spec["init"] == "xavier"
                          else "seeded numpy, not Caffe's fillers: gaussian weights with the std in net.prototxt")
                         + "; biases uniform(-0.1, 0.1)",
            **files, "results": results,
        }

    # Extra pooling cases: padding and ceil together, odd and even sizes.
    rng = np.random.default_rng(11)
    for pool in ("MAX", "AVE"):
        for h, k, s, p in ((6, 3, 2, 1), (7, 3, 2, 1), (5, 2, 2, 1), (8, 5, 3, 2), (4, 3, 2, 0), (9, 3, 2, 0)):
            checks.append(check_pool(rng.standard_normal((2, 2, h, h + 1)), pool, k, s, p, f"extra {h}x{h + 1}"))
    manifest["pool_checks"] = checks
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    opencv_check(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare")
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            bad = []
            new = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*") if p.is_file())
            old = sorted(p.relative_to(OUT) for p in OUT.rglob("*") if p.is_file())
            if new != old:
                bad.append("file lists differ")
            for r in new:
                if (OUT / r).exists() and (OUT / r).read_bytes() != (Path(tmp) / r).read_bytes():
                    bad.append(str(r))
            if bad:
                print("differs from the committed files:", *bad[:20], file=sys.stderr)
                sys.exit(1)
            print("the committed files match")
        return
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    generate(OUT)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
