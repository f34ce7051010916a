"""Independent parameter and multiply-accumulate (MAC) counts for the network analysis test
(crates/core/tests/analysis.rs), written to crates/core/tests/data/graphs/stats.json.

- torchvision AlexNet, VGG-16, ResNet-18, SqueezeNet 1.1, GoogLeNet at 1x3x224x224: fvcore's
  FlopCountAnalysis and parameter_count on the PyTorch modules. fvcore counts one fused multiply-add as one
  "flop", so its Conv2d and Linear figures are MACs without bias. It also counts batch_norm (1-2 per
  element) and adaptive_avg_pool2d, which zfvis counts as 0: only the Conv2d and Linear modules are compared.
  Each per-layer row maps an ONNX node of the committed export (its scope name) to its torch module.
- cifar10_quick and LeNet (../shared/fixtures/caffe): OpenCV dnn's per-layer getFLOPS. OpenCV counts
  FLOPs: a convolution gives out·(2·K + 1) (a multiply and an add per product, plus the bias), an
  InnerProduct 3·K·N, so MACs = (flops − out) / 2 and flops / 3. Parameters are the sizes of its blobs.
- ZFNet-512 (the committed weightless graph): onnx.shape_inference shapes and the count here, out·K for
  Conv (K = C/group·kh·kw) and Gemm (K = the inner dimension). OpenCV dnn reads the graph too (weights
  filled with zeros); its convolution FLOPs are checked against this count (it gives 0 for Gemm).

The expected `params` are what zfvis holds: torchvision's exports fold every BatchNorm into the
convolution before it (eval mode), so its 2·C learned values (gamma, beta) become the convolution's C bias
values; `params` = the counter's parameters − C per folded BatchNorm, and each such convolution's row says
`folded_bn`. Running means and variances are buffers, not parameters, in both counts.

Usage: python3 tests/reference/model_stats.py [--check]   (pip: torch, torchvision, fvcore, onnx,
opencv-python-headless; ../shared beside the checkout for the Caffe nets)"""
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "crates" / "core" / "tests" / "data" / "graphs"
OUT = GRAPHS / "stats.json"
CAFFE = ROOT.parent / "shared" / "fixtures" / "caffe"


def onnx_model(name):
    """The committed weightless graph with zeros put back for its removed initializers."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(GRAPHS / f"{name}.onnx"))
    for w in json.loads((GRAPHS / f"{name}.weights.json").read_text()):
        m.graph.initializer.append(numpy_helper.from_array(np.zeros(w["dims"], np.float32), w["name"]))
    return m


def module_name(node_name):
    """The torch module an exported node belongs to, from its scope name: '/layer1/layer1.0/conv1/Conv'
    gives 'layer1.0.conv1' (a child of a Sequential repeats the parent's name as a prefix)."""
    parts = []
    for p in node_name.strip("/").split("/")[:-1]:
        if parts and p.startswith(parts[-1] + "."):
            parts[-1] = p
        else:
            parts.append(p)
    return ".".join(parts)


def torchvision_stats(name, make):
    import fvcore
    import torch
    from fvcore.nn import FlopCountAnalysis, parameter_count

    torch.manual_seed(0)
    model = make().eval()
    flops = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    by_module = flops.by_module()
    params = parameter_count(model)
    modules = dict(model.named_modules())
    layers, folded = [], 0
    for node in onnx_model(name).graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        mod_name = module_name(node.name)
        mod = modules[mod_name]
        assert isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)), (node.name, mod_name, mod)
        # A bias in the export that the module lacks is a BatchNorm folded into it.
        bn = mod.out_channels if mod.bias is None and len(node.input) > 2 else 0
        folded += bn
        layers.append({
            "name": node.name,
            "module": mod_name,
            "counter_params": params[mod_name],
            "folded_bn": bn,
            "params": params[mod_name] + bn,
            "macs": by_module[mod_name],
        })
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in modules.values())
    assert n_bn == sum(1 for l in layers if l["folded_bn"]), f"{name}: every BatchNorm follows a convolution"
    by_op = flops.by_operator()
    assert set(by_op) <= {"conv", "linear", "batch_norm", "adaptive_avg_pool2d"}, by_op
    macs = by_op.get("conv", 0) + by_op.get("linear", 0)
    assert macs == sum(l["macs"] for l in layers), name
    return {
        "source": f"torchvision {name}, 1x3x224x224; graph {name}.onnx",
        "counter": f"fvcore {fvcore.__version__} (torch {torch.__version__})",
        "input": [1, 3, 224, 224],
        "counter_params": params[""],
        "folded_bn_channels": folded,
        "params": params[""] - folded,
        "counter_flops_by_operator": dict(sorted(by_op.items())),
        "macs": macs,
        "layers": layers,
    }


def torchvision_models():
    import torchvision.models as tv

    return {
        "alexnet": lambda: tv.alexnet(),
        "vgg16": lambda: tv.vgg16(),
        "resnet18": lambda: tv.resnet18(),
        "squeezenet1_1": lambda: tv.squeezenet1_1(),
        "googlenet": lambda: tv.googlenet(aux_logits=False, init_weights=False, transform_input=False),
    }


def caffe_stats(name, prototxt, weights, shape):
    import cv2

    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
    ids, _, outs = net.getLayersShapes(shape)
    out_shape = {int(i): o[0] for i, o in zip(np.asarray(ids).ravel(), outs)}
    layers = []
    for lname in net.getLayerNames():
        lid = net.getLayerId(lname)
        layer = net.getLayer(lid)
        flops = int(net.getFLOPS(lid, shape))
        out = int(np.prod(out_shape[lid]))
        if layer.type == "Convolution":
            assert (flops - out) % 2 == 0
            macs = (flops - out) // 2
        elif layer.type == "InnerProduct":
            assert flops % 3 == 0
            macs = flops // 3
        else:
            macs = 0
        layers.append({
            "name": lname,
            "type": layer.type,
            "params": int(sum(b.size for b in layer.blobs)),
            "counter_flops": flops,
            "outputs": out,
            "macs": macs,
        })
    return {
        "source": f"../shared/fixtures/caffe/{prototxt.relative_to(CAFFE)} + {weights.name}, "
                  f"{'x'.join(map(str, shape))}",
        "counter": f"OpenCV dnn {cv2.__version__} getFLOPS",
        "input": list(shape),
        "counter_flops": int(net.getFLOPS(shape)),
        "params": sum(l["params"] for l in layers),
        "macs": sum(l["macs"] for l in layers),
        "layers": layers,
    }


def zfnet512_stats():
    import cv2
    import onnx
    from onnx import numpy_helper, shape_inference

    m = onnx_model("zfnet512")
    # IR 3 reads initializers only when they are also graph inputs; IR 4 reads them as they are.
    m.ir_version = max(m.ir_version, 4)
    g = shape_inference.infer_shapes(m, strict_mode=True).graph
    values = list(g.value_info) + list(g.input) + list(g.output)
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for k, v in inits.items():
        dims[k] = list(v.shape)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(m.SerializeToString(), np.uint8))
    shape = dims[g.input[0].name]
    layers = []
    for node in g.node:
        out = int(np.prod(dims[node.output[0]]))
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            w = dims[node.input[1]]
            macs = out * w[1] * w[2] * w[3]  # w[1] is already C / group
            flops = int(net.getFLOPS(net.getLayerId(f"onnx_node!{node.name}"), shape))
            assert flops == out * (2 * macs // out + 1), (node.name, flops, macs)
        elif node.op_type == "Gemm":
            a = dims[node.input[0]]
            macs = out * (a[0] if attrs.get("transA", 0) else a[1])
        else:
            macs = 0
        params = sum(int(np.prod(dims[i])) for i in node.input if i in inits and inits[i].dtype == np.float32)
        layers.append({"name": node.name, "type": node.op_type, "params": params, "macs": macs})
    return {
        "source": "zfnet512.onnx (onnx's light_zfnet512 graph), 1x3x224x224",
        "counter": f"onnx {onnx.__version__} shape_inference + this script's count; "
                   f"Conv checked against OpenCV dnn {cv2.__version__} getFLOPS",
        "input": shape,
        "params": sum(l["params"] for l in layers),
        "macs": sum(l["macs"] for l in layers),
        "layers": layers,
    }


def generate():
    stats = {}
    caffe = [
        ("cifar10_quick", "cifar10_quick/cifar10_quick.prototxt",
         "cifar10_quick/cifar10_quick_iter_4000.caffemodel", (1, 3, 32, 32)),
        ("lenet", "lenet/lenet.prototxt", "lenet/lenet_iter_10000.caffemodel", (1, 1, 28, 28)),
    ]
    if not CAFFE.is_dir():
        sys.exit(f"{CAFFE} is absent: the Caffe nets need ../shared/fixtures beside the checkout")
    for name, proto, weights, shape in caffe:
        stats[name] = caffe_stats(name, CAFFE / proto, CAFFE / weights, shape)
    for name, make in torchvision_models().items():
        stats[name] = torchvision_stats(name, make)
    stats["zfnet512"] = zfnet512_stats()
    return json.dumps(stats, indent=1) + "\n"


def main():
    text = generate()
    for name, s in json.loads(text).items():
        print(f"{name:14} params {s['params']:>11,}  MACs {s['macs']:>15,}  ({s['counter']})")
    if "--check" in sys.argv:
        same = OUT.exists() and OUT.read_text() == text
        print("stats.json matches" if same else f"{OUT.relative_to(ROOT)} differs")
        sys.exit(0 if same else 1)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
