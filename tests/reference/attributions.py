#!/usr/bin/env python3
"""Reference attributions (guided backprop, saliency, Grad-CAM) from captum on PyTorch ports of the fixture nets.

For cifar10_quick (the V1 iter_5000 weights; images cat_0000 and ship_0000) and LeNet (wonnx_5), this script
reads the fixture .caffemodel files itself (no zfvis code), builds a PyTorch port of each net, checks the
port against the shared OpenCV blobs (every layer, max abs diff / max(1, max |OpenCV|) <= 1e-4), runs captum
and saves float32 .npy files and manifest.json into crates/core/tests/data/attributions/. crates/core/tests/attribution_reference.rs
checks zfvis against them.

Needs (PyPI): numpy, torch, captum, grpcio-tools. The plain PyPI wheels are enough (large: torch pulls CUDA
libraries it does not use here):

    pip install numpy torch captum grpcio-tools
    python3 tests/reference/attributions.py            # regenerate the data (from the repository root)
    python3 tests/reference/attributions.py --check    # regenerate in memory, compare with the stored files

Inputs are the shared preprocessed blobs (../shared/reference/<model>/<image>/input.npy), so preprocessing is
not part of what these files test. grpcio-tools compiles crates/core/proto/caffe.proto to a Python module in a
temporary folder (the approach of tests/reference/caffe_layers.py, rewritten here in a few lines so that this
script does not need OpenCV); the protobuf runtime parses the caffemodels, V1 (`layers`, legacy 4-D blob
dims) and V2 alike.

What is computed, per (model, image), with top1 = argmax of the ip2 logits (pre-softmax):
- GuidedBackprop(net).attribute(x, target=top1) and Saliency(net).attribute(x, target=top1, abs=False): the
  input-space maps for the top-1 logit.
- The same two for one conv-layer unit: the channel of `unit_layer` (relu2 for cifar10_quick, conv2 for LeNet)
  that holds the layer's largest activation, and in it the strongest unit (the first maximum in row-major
  order), through a wrapper module whose output is that unit; and for the same channel's whole map (the
  wrapper outputs the channel's sum). captum is called with target=0 on the wrapper's N x 1 output. LeNet has
  no ReLU below conv2, so there guided backprop equals saliency.
- LayerGradCam(net, layer).attribute(x, target=top1, relu_attributions=True) at relu3 (cifar10_quick: conv3
  after its in-place ReLU) and conv2 (LeNet: no ReLU follows it), at layer resolution (N x 1 x H x W):
  relu(sum_k mean_yx(d logit / d A_k) * A_k).

Determinism: no randomness anywhere; everything runs in float64 on one CPU thread (then saved as float32), so
the files do not depend on the machine's thread count or BLAS. The manifest records the margins that decide
discrete choices (top-1 logit gap, strongest-unit gap) and, per max pooling, its exact ties and the smallest
non-zero gap between a window's largest and second-largest value: a gap near float32 rounding would make the
float32 engine under test free to pick another switch.

Max pooling and ties. Caffe (and zfvis) route a max pooling's gradient to the first maximum of each window in
row-major order. LeNet's black background gives exact ties in both of its max poolings. The port therefore
does not use torch's max_pool2d: MaxPoolFirst unfolds the windows and takes torch.argmax, which returns the
first maximal index, and its gradient goes through that gather. The script also reruns every gradient with
F.max_pool2d and records in the manifest how far that differs ("native_max_pool2d_diff"): on the torch build
used it made no difference, but this is a property of one CPU kernel, not a documented rule. The choice does
matter: with the last maximum instead, LeNet's saliency of the top-1 logit changes by 0.13 (its peak is 1.57),
far beyond the test's tolerance.

Average pooling follows Caffe: the output size rounds up, the last window is clipped to the input, and the
divisor is the clipped window's size (these nets have no pooling pad). AvePoolCaffe does that explicitly.
"""

import argparse
import json
import math
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refdata import ROOT, publish  # noqa: E402
import torch
import torch.nn as nn
import torch.nn.functional as F
import captum
from captum.attr import GuidedBackprop, LayerGradCam, Saliency

OUT = ROOT / "crates" / "core" / "tests" / "data" / "attributions"
SHARED = ROOT.parent / "shared"
PORT_TOL = 1e-4
DTYPE = torch.float64

MODELS = [
    dict(key="cifar10_quick_iter_5000_v1", arch="cifar10_quick",
         prototxt="fixtures/caffe/cifar10_quick/cifar10_quick.prototxt",
         weights="fixtures/caffe/cifar10_quick/cifar10_quick_iter_5000_v1.caffemodel",
         images=["cat_0000", "ship_0000"], unit_layer="relu2", gradcam_layer="relu3"),
    dict(key="lenet", arch="lenet",
         prototxt="fixtures/caffe/lenet/lenet.prototxt",
         weights="fixtures/caffe/lenet/lenet_iter_10000.caffemodel",
         images=["wonnx_5"], unit_layer="conv2", gradcam_layer="conv2"),
]


def read_caffemodel(pb, path: Path):
    """{layer name: [blob arrays]} from a binary caffemodel, V1 or V2."""
    net = pb.NetParameter()
    net.ParseFromString(path.read_bytes())
    layers = list(net.layer) if len(net.layer) else list(net.layers)
    out = {}
    for layer in layers:
        arrays = []
        for b in layer.blobs:
            shape = tuple(b.shape.dim) if b.HasField("shape") else (b.num, b.channels, b.height, b.width)
            data = np.asarray(b.data if len(b.data) else b.double_data, dtype=np.float64)
            arrays.append(data.reshape(shape))
        if arrays:
            out[layer.name] = arrays
    return out


def read_prototxt_layers(pb, path: Path):
    from google.protobuf import text_format

    net = text_format.Parse(path.read_text(), pb.NetParameter())
    return [l.name for l in (net.layer if len(net.layer) else net.layers)]


# ---------------------------------------------------------------------------------------------------------
# Caffe layers as torch modules
# ---------------------------------------------------------------------------------------------------------


def caffe_pool_geometry(h, w, k, s):
    """Caffe's pooled size without padding: rounded up; the extra input a last window needs past the end."""
    oh, ow = math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1
    return oh, ow, (oh - 1) * s + k - h, (ow - 1) * s + k - w


class MaxPoolFirst(nn.Module):
    """Caffe MAX pooling (no pad): the switch is the first maximum of each window in row-major order."""

    native = False  # True: torch's max_pool2d instead, to measure how much tie-breaking matters

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        if MaxPoolFirst.native:
            return F.max_pool2d(x, self.k, self.s, ceil_mode=True)
        n, c, h, w = x.shape
        oh, ow, ph, pw = caffe_pool_geometry(h, w, self.k, self.s)
        xp = F.pad(x, (0, pw, 0, ph), value=-math.inf).reshape(n * c, 1, h + ph, w + pw)
        cols = F.unfold(xp, self.k, stride=self.s)  # (n*c, k*k, oh*ow), window entries row-major
        idx = torch.argmax(cols, dim=1, keepdim=True)  # first maximal index
        return torch.gather(cols, 1, idx).reshape(n, c, oh, ow)

    def window_stats(self, x):
        """(exact ties among window maxima, smallest non-zero gap between the two largest values)."""
        n, c, h, w = x.shape
        oh, ow, ph, pw = caffe_pool_geometry(h, w, self.k, self.s)
        xp = F.pad(x, (0, pw, 0, ph), value=-math.inf).reshape(n * c, 1, h + ph, w + pw)
        cols = F.unfold(xp, self.k, stride=self.s)
        top2 = torch.topk(cols, 2, dim=1).values
        gap = top2[:, 0] - top2[:, 1]
        ties = int((gap == 0).sum())
        nonzero = gap[gap > 0]
        return ties, float(nonzero.min()) if nonzero.numel() else None


class AvePoolCaffe(nn.Module):
    """Caffe AVE pooling (no pad): ceil rounding, windows clipped to the input, divided by the clipped size."""

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        n, c, h, w = x.shape
        oh, ow, ph, pw = caffe_pool_geometry(h, w, self.k, self.s)
        xp = F.pad(x, (0, pw, 0, ph)).reshape(n * c, 1, h + ph, w + pw)
        sums = F.unfold(xp, self.k, stride=self.s).sum(dim=1)
        ones = F.pad(torch.ones(1, 1, h, w, dtype=x.dtype), (0, pw, 0, ph))
        count = F.unfold(ones, self.k, stride=self.s).sum(dim=1)
        return (sums / count).reshape(n, c, oh, ow)


class InnerProduct(nn.Linear):
    """Caffe InnerProduct (axis 1): flattens C x H x W in that order first."""

    def forward(self, x):
        return super().forward(x.flatten(1))


def cifar10_quick():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 32, 5, padding=2)),
        ("pool1", MaxPoolFirst(3, 2)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(32, 32, 5, padding=2)),
        ("relu2", nn.ReLU()),
        ("pool2", AvePoolCaffe(3, 2)),
        ("conv3", nn.Conv2d(32, 64, 5, padding=2)),
        ("relu3", nn.ReLU()),
        ("pool3", AvePoolCaffe(3, 2)),
        ("ip1", InnerProduct(64 * 4 * 4, 64)),
        ("ip2", InnerProduct(64, 10)),
    ]))


def lenet():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 20, 5)),
        ("pool1", MaxPoolFirst(2, 2)),
        ("conv2", nn.Conv2d(20, 50, 5)),
        ("pool2", MaxPoolFirst(2, 2)),
        ("ip1", InnerProduct(50 * 4 * 4, 500)),
        ("relu1", nn.ReLU()),
        ("ip2", InnerProduct(500, 10)),
    ]))


ARCHS = {"cifar10_quick": cifar10_quick, "lenet": lenet}


def build_port(pb, spec):
    net = ARCHS[spec["arch"]]().to(DTYPE)
    blobs = read_caffemodel(pb, SHARED / spec["weights"])
    # The port's layers are the prototxt's, in order (less the Input and the final Softmax).
    names = [n for n in read_prototxt_layers(pb, SHARED / spec["prototxt"]) if n not in ("data", "prob")]
    assert names == [n for n, _ in net.named_children()], f"{spec['key']}: prototxt layers {names}"
    for name, module in net.named_children():
        params = [p for p in (getattr(module, "weight", None), getattr(module, "bias", None)) if p is not None]
        arrays = blobs.get(name, [])
        assert len(arrays) == len(params), f"{name}: {len(arrays)} blobs for {len(params)} parameters"
        for p, a in zip(params, arrays):
            # Legacy V1 dims pad with leading 1s (an IP weight is 1 x 1 x out x in): compare without them.
            strip = lambda s: tuple(s)[next((i for i, d in enumerate(s) if d != 1), len(s)):]
            assert strip(a.shape) == strip(p.shape), f"{name}: blob {a.shape} for parameter {tuple(p.shape)}"
            with torch.no_grad():
                p.copy_(torch.from_numpy(a.reshape(tuple(p.shape))))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def blobs_of(net, x):
    """Every layer's output by Caffe layer name (the ReLUs' names hold the values after them)."""
    out = OrderedDict()
    with torch.no_grad():
        for name, module in net.named_children():
            x = module(x)
            out[name] = x
    out["prob"] = torch.softmax(x, dim=1)
    return out


class UnitOutput(nn.Module):
    """The net up to `layer`, with one output: one unit of a channel (unit=(y, x)) or the channel's sum."""

    def __init__(self, net, layer, channel, unit):
        super().__init__()
        children = []
        for name, module in net.named_children():
            children.append((name, module))
            if name == layer:
                break
        self.body = nn.Sequential(OrderedDict(children))
        self.channel, self.unit = channel, unit

    def forward(self, x):
        a = self.body(x)[:, self.channel]
        if self.unit is None:
            return a.sum(dim=(1, 2)).unsqueeze(1)
        y, xx = self.unit
        return a[:, y, xx].unsqueeze(1)


# ---------------------------------------------------------------------------------------------------------
# The references
# ---------------------------------------------------------------------------------------------------------


def second_gap(values):
    """Largest value minus the second largest, of a 1-D float64 array."""
    s = np.sort(values.ravel())
    return float(s[-1] - s[-2])


def attributions(net, spec, x):
    """[(entry fields, thunk giving the attribution)] for one input: every case this image gets."""
    acts = blobs_of(net, x)
    logits = acts["ip2"][0].numpy()
    top1 = int(np.argmax(logits))
    cases = []
    ip2 = dict(layer="ip2", channel=top1, unit="logit", **{"class": top1})
    cases.append((dict(method="guided_backprop", **ip2),
                  lambda: GuidedBackprop(net).attribute(x, target=top1)))
    cases.append((dict(method="saliency", **ip2),
                  lambda: Saliency(net).attribute(x, target=top1, abs=False)))

    layer = spec["unit_layer"]
    a = acts[layer][0].numpy()  # C x H x W
    channel = int(np.argmax(a.reshape(a.shape[0], -1).max(axis=1)))
    flat = int(np.argmax(a[channel]))  # the first maximum in row-major order
    pos = (flat // a.shape[2], flat % a.shape[2])
    unit_info = dict(layer=layer, channel=channel, value=float(a[channel].ravel()[flat]),
                     unit_gap=second_gap(a[channel]))
    for unit, extra in ((pos, dict(unit="max", position=list(pos))), (None, dict(unit="map"))):
        wrapper = UnitOutput(net, layer, channel, unit).eval()
        cases.append((dict(method="guided_backprop", **unit_info, **extra),
                      lambda w=wrapper: GuidedBackprop(w).attribute(x, target=0)))
        cases.append((dict(method="saliency", **unit_info, **extra),
                      lambda w=wrapper: Saliency(w).attribute(x, target=0, abs=False)))

    gc_layer = spec["gradcam_layer"]
    cases.append((dict(method="gradcam", layer=gc_layer, **{"class": top1}),
                  lambda: LayerGradCam(net, getattr(net, gc_layer)).attribute(
                      x, target=top1, relu_attributions=True)))
    meta = dict(top1=top1, top1_logit=float(logits[top1]), top1_gap=second_gap(logits))
    return cases, meta


def check_port(net, spec, image):
    """Every layer's output against the shared OpenCV blobs: max abs diff, and that over max(1, max |OpenCV|),
    which must be <= PORT_TOL. (The plain max abs diff cannot be held to 1e-4: cifar10_quick's conv2 reaches
    about 190, where OpenCV's own float32 rounding is about 1e-4; the relative measure is the project's.)"""
    folder = SHARED / "reference" / spec["key"] / image
    x = torch.from_numpy(np.load(folder / "input.npy").astype(np.float64))
    errors = {}
    for name, t in blobs_of(net, x).items():
        want = np.load(folder / f"cv2_{name}.npy")
        got = t.numpy()
        assert got.shape == want.shape, f"{spec['key']}/{image}/{name}: {got.shape} vs OpenCV {want.shape}"
        err = float(np.abs(got - want).max())
        rel = err / max(1.0, float(np.abs(want).max()))
        errors[name] = dict(maxabs=err, rel=rel)
        assert rel <= PORT_TOL, f"{spec['key']}/{image}/{name}: port differs from OpenCV by {err} (rel {rel})"
    return x, errors


def pool_stats(net, x):
    stats = {}
    with torch.no_grad():
        for name, module in net.named_children():
            if isinstance(module, MaxPoolFirst):
                ties, gap = module.window_stats(x)
                stats[name] = dict(exact_ties=ties, smallest_nonzero_gap=gap)
            x = module(x)
    return stats


def generate(pb, out: Path):
    # captum warns that it sets requires_grad on the input and hooks the ReLUs: both are what is meant here.
    warnings.filterwarnings("ignore", category=UserWarning, module="captum")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    manifest = OrderedDict(
        generator="tests/reference/attributions.py",
        reference=f"captum {captum.__version__} on PyTorch {torch.__version__.split('+')[0]} ports of the Caffe "
                  "nets, float64 on CPU, saved as float32",
        paths="'file' is relative to this folder; 'prototxt', 'weights' and 'input' to the shared folder "
              "(../shared from the repository root)",
        definitions=OrderedDict(
            guided_backprop="captum GuidedBackprop: the gradient, with every ReLU's backward passing only "
                            "positive signal where its forward input was positive; seed 1",
            saliency="captum Saliency(abs=False): the plain signed gradient of the target; seed 1",
            gradcam="captum LayerGradCam(relu_attributions=True) at 'layer' for logit 'class': "
                    "relu(sum_k mean_yx(dlogit/dA_k) * A_k), shape N x 1 x H x W at the layer's resolution",
            unit="logit: the 2-D layer's single unit of 'channel' (the class); max: the channel's strongest "
                 "unit, at 'position' (the first maximum in row-major order); map: the sum of the channel's map",
            max_pooling="the gradient goes to each window's first maximum in row-major order (Caffe's switch)",
        ),
        models=OrderedDict(),
        entries=[],
    )
    for spec in MODELS:
        net = build_port(pb, spec)
        model_info = OrderedDict(prototxt=spec["prototxt"], weights=spec["weights"], images=OrderedDict())
        for image in spec["images"]:
            x, port_err = check_port(net, spec, image)
            cases, meta = attributions(net, spec, x)
            image_info = OrderedDict(input=f"reference/{spec['key']}/{image}/input.npy", **meta,
                                     port_vs_opencv=port_err, max_pooling=pool_stats(net, x))
            model_info["images"][image] = image_info
            for fields, run in cases:
                MaxPoolFirst.native = False
                attr = run().detach()
                MaxPoolFirst.native = True
                native = run().detach()
                MaxPoolFirst.native = False
                arr = attr.numpy().astype(np.float32)
                tag = fields["layer"] + f"_c{fields.get('channel', fields.get('class'))}"
                if fields.get("unit") in ("max", "map"):
                    tag += f"_{fields['unit']}"
                fname = f"{spec['key']}.{image}.{fields['method']}.{tag}.npy"
                np.save(out / fname, arr)
                entry = OrderedDict(model=spec["key"], image=image, **fields, file=fname, shape=list(arr.shape),
                                    max_abs=float(np.abs(arr).max()),
                                    native_max_pool2d_diff=float((native - attr).abs().max()))
                manifest["entries"].append(entry)
                print(f"{spec['key']} {image} {fields['method']:>15} {tag:<14} shape {tuple(arr.shape)} "
                      f"max|ref| {entry['max_abs']:.4g}, max_pool2d instead: diff {entry['native_max_pool2d_diff']:.2g}")
            print(f"{spec['key']} {image}: top1 {meta['top1']} (logit gap {meta['top1_gap']:.3g}); port vs OpenCV "
                  f"max abs {max(e['maxabs'] for e in port_err.values()):.2g} "
                  f"(rel {max(e['rel'] for e in port_err.values()):.2g}); pools {image_info['max_pooling']}")
        manifest["models"][spec["key"]] = model_info
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="generate into a temporary folder and compare with --out")
    args = ap.parse_args()
    if not (SHARED / "fixtures").is_dir():
        sys.exit(f"{SHARED} (fixtures and references) is absent: it must sit beside the repository")
    publish(generate, args.out, args.check)


if __name__ == "__main__":
    main()
