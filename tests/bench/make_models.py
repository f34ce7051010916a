"""The benchmark's ONNX models, written to target/bench-models/ (never committed; the large ones are hundreds
of MB). Each engine of the benchmark (zfvis natively and in the page's worker, onnxruntime-web, OpenCV dnn)
loads these same files.

- cifar10_quick, lenet: the trained Caffe fixtures (../shared/fixtures/caffe) exported to ONNX: the graph
  from the prototxt, the weights as OpenCV dnn reads them from the .caffemodel. Caffe rounds pooling output
  up; the export uses ceil_mode=1 and checks that onnxruntime (Python) gives OpenCV's Caffe output on a
  fixture image before anyone times it.
- zfnet512, alexnet, vgg19: the weightless `light_*` graphs that the `onnx` package ships
  (onnx/backend/test/data/light), every ConstantOfShape that stands for a weight made an initializer of
  that shape with seeded He-uniform values.
- vgg16: torchvision's VGG-16 definition with seeded random weights (torch.manual_seed(0), torchvision's
  own initialisation, biases uniform in ±0.05), exported with torch.onnx.export(dynamo=False).

Needs numpy and onnx; the Caffe exports need opencv-python-headless (and onnxruntime for their check);
vgg16 needs torch and torchvision. Existing files are kept unless --force.

Usage: python3 tests/bench/make_models.py [--force] [cifar10_quick lenet zfnet512 alexnet vgg16 vgg19 ...]"""
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "bench-models")
FIXTURES = os.path.join(os.path.dirname(ROOT), "shared", "fixtures")
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
LIGHT_MODELS = {"zfnet512": "light_zfnet512.onnx", "alexnet": "light_bvlc_alexnet.onnx", "vgg19": "light_vgg19.onnx"}
CAFFE_MODELS = {
    # name: (prototxt, weights, fixture image, preprocessing as in ../shared/fixtures/README.md)
    "cifar10_quick": ("caffe/cifar10_quick/cifar10_quick.prototxt", "caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel",
                      "images/cifar10/airplane_0000.jpg", "cifar"),
    "lenet": ("caffe/lenet/lenet.prototxt", "caffe/lenet/lenet_iter_10000.caffemodel", "images/mnist/wonnx_3.jpg", "mnist"),
}
DEFAULT = ["cifar10_quick", "lenet", "zfnet512", "alexnet", "vgg16"]


def save(model, name, params):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{name}.onnx")
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"{path}: {params / 1e6:.2f} M parameters, {os.path.getsize(path) / 1e6:.0f} MB")
    return path


# ---- light_* graphs with materialised weights

def materialise(name, seed=0):
    m = onnx.load(os.path.join(LIGHT, LIGHT_MODELS[name]))
    g = m.graph
    rng = np.random.default_rng(seed)
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    weights, keep = [], []
    for n in g.node:
        if n.op_type != "ConstantOfShape":
            keep.append(n)
            continue
        shape = [int(d) for d in consts[n.input[0]]]
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
        # He-uniform weights keep activations O(1) through the depth; biases small.
        bound = np.sqrt(6.0 / fan_in) if fan_in else 0.05
        w = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        weights.append(numpy_helper.from_array(w, n.output[0]))
    used = {i for n in keep for i in n.input}
    inputs = [i for i in g.input if i.name in used and i.name not in consts]
    init = [t for t in g.initializer if t.name in used] + weights
    graph = helper.make_graph(keep, name, inputs, list(g.output), init)
    # IR 4 and later let initializers stay out of the graph's inputs.
    model = helper.make_model(graph, opset_imports=m.opset_import, ir_version=max(m.ir_version, 4))
    return save(model, name, sum(int(np.prod(t.dims)) for t in weights))


# ---- torchvision VGG-16

def vgg16(seed=0):
    import torch
    import torchvision

    torch.manual_seed(seed)
    net = torchvision.models.vgg16(weights=None).eval()
    with torch.no_grad():
        for m in net.modules():
            if getattr(m, "bias", None) is not None:
                m.bias.uniform_(-0.05, 0.05)  # distinct biases: no shared zero initializer
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "vgg16.onnx")
    torch.onnx.export(net, torch.zeros(1, 3, 224, 224), path, dynamo=False, opset_version=13,
                      input_names=["data"], output_names=["logits"], do_constant_folding=True)
    model = onnx.load(path)
    return save(model, "vgg16", sum(p.numel() for p in net.parameters()))


# ---- Caffe fixtures to ONNX

def parse_prototxt(text):
    """A prototxt as nested dicts: every field maps to a list of values (numbers, strings, enum names or dicts)."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"#]+|#[^\n]*', text)
    tokens = [t for t in tokens if not t.startswith("#")]
    pos = 0

    def value(tok):
        if tok.startswith('"'):
            return tok[1:-1]
        try:
            return int(tok)
        except ValueError:
            try:
                return float(tok)
            except ValueError:
                return tok

    def block():
        nonlocal pos
        d = {}
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            if tokens[pos] == "{":
                pos += 1
                v = block()
                pos += 1  # the closing brace
            else:
                v = value(tokens[pos])
                pos += 1
            d.setdefault(key, []).append(v)
        return d

    return block()


def one(d, key, default=None):
    return d.get(key, [default])[0]


def caffe_to_onnx(name):
    import cv2

    proto_path, weights_path, _, _ = CAFFE_MODELS[name]
    proto_path, weights_path = os.path.join(FIXTURES, proto_path), os.path.join(FIXTURES, weights_path)
    net = parse_prototxt(open(proto_path).read())
    cv = cv2.dnn.readNetFromCaffe(proto_path, weights_path)
    blob = {}  # Caffe blob name -> the ONNX value holding it now (in-place layers rename it)
    rank = {}
    nodes, inits, inputs = [], [], []
    params = 0

    def weight(layer, i, shape):
        nonlocal params
        w = np.ascontiguousarray(cv.getParam(layer, i).reshape(shape).astype(np.float32))
        params += w.size
        t = f"{layer}.w{i}"
        inits.append(numpy_helper.from_array(w, t))
        return t

    for layer in net["layer"]:
        lname, ltype = one(layer, "name"), one(layer, "type")
        bottoms, tops = layer.get("bottom", []), layer.get("top", [])
        ins = [blob[b] for b in bottoms]
        out = lname
        if ltype == "Input":
            dims = one(one(layer, "input_param"), "shape")["dim"]
            dims = [1] + list(dims[1:])  # batch 1 (LeNet's prototxt declares 64)
            inputs.append(helper.make_tensor_value_info(lname, TensorProto.FLOAT, dims))
            blob[tops[0]], rank[lname] = lname, len(dims)
            continue
        if ltype == "Convolution":
            p = one(layer, "convolution_param")
            k, s, pad = one(p, "kernel_size"), one(p, "stride", 1), one(p, "pad", 0)
            group, n_out = one(p, "group", 1), one(p, "num_output")
            w = cv.getParam(lname, 0)
            w_name = weight(lname, 0, (n_out, w.size // (n_out * k * k), k, k))
            b_name = weight(lname, 1, (n_out,))
            nodes.append(helper.make_node("Conv", [ins[0], w_name, b_name], [out], lname, kernel_shape=[k, k],
                                          strides=[s, s], pads=[pad] * 4, group=group))
        elif ltype == "Pooling":
            p = one(layer, "pooling_param")
            k, s, pad = one(p, "kernel_size"), one(p, "stride", 1), one(p, "pad", 0)
            if pad:
                # Caffe's ceil rule then also drops a last window that starts in the padding.
                raise ValueError(f"{lname}: padded pooling is not exported")
            op = {"MAX": "MaxPool", "AVE": "AveragePool"}[one(p, "pool", "MAX")]
            # Caffe rounds the output size up. With no padding, a window that hangs over the edge averages
            # only the values it covers, as AveragePool's count_include_pad=0 does.
            nodes.append(helper.make_node(op, ins, [out], lname, kernel_shape=[k, k], strides=[s, s], pads=[0] * 4,
                                          ceil_mode=1))
        elif ltype == "ReLU":
            nodes.append(helper.make_node("Relu", ins, [out], lname))
        elif ltype == "InnerProduct":
            n_out = one(one(layer, "inner_product_param"), "num_output")
            x = ins[0]
            if rank[x] != 2:
                nodes.append(helper.make_node("Flatten", [x], [f"{lname}.flat"], f"{lname}.flatten", axis=1))
                x = f"{lname}.flat"
            w = cv.getParam(lname, 0)
            w_name = weight(lname, 0, (n_out, w.size // n_out))
            b_name = weight(lname, 1, (n_out,))
            nodes.append(helper.make_node("Gemm", [x, w_name, b_name], [out], lname, transB=1))
            rank[out] = 2
        elif ltype == "Softmax":
            nodes.append(helper.make_node("Softmax", ins, [out], lname, axis=1))
        else:
            raise ValueError(f"{lname}: layer type {ltype} is not exported")
        rank.setdefault(out, rank[ins[0]])
        blob[tops[0]] = out
    last = nodes[-1].output[0]
    graph = helper.make_graph(nodes, one(net, "name", name), inputs,
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, [f"d{i}" for i in range(rank[last])])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zfvis make_models.py")
    model.ir_version = 8
    path = save(model, name, params)
    check_caffe_export(name, path, cv)
    return path


def check_caffe_export(name, path, cv):
    """onnxruntime on the export against OpenCV dnn on the Caffe files, on a real fixture image: every
    layer's output that both name (the ceil pooling layers among them)."""
    import cv2

    try:
        import onnxruntime as ort
    except ImportError:
        print(f"{name}: not checked against OpenCV (no onnxruntime Python package)")
        return
    _, _, image, pre = CAFFE_MODELS[name]
    img = cv2.imread(os.path.join(FIXTURES, image), cv2.IMREAD_COLOR if pre == "cifar" else cv2.IMREAD_GRAYSCALE)
    if pre == "cifar":
        mean = np.load(os.path.join(FIXTURES, "caffe/cifar10_quick/mean_approx.npy")).astype(np.float32)
        x = img[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) - mean  # RGB planes minus the mean
    else:
        x = img[None].astype(np.float32) * 0.00390625
    x = x[None]
    model = onnx.load(path)
    names = [n.output[0] for n in model.graph.node if not n.name.endswith(".flatten")]
    # Every node's output becomes a graph output, so all of them can be compared.
    del model.graph.output[:]
    model.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: x})))
    cv.setInput(x)
    # OpenCV keeps in-place ReLUs inside the layer they follow: compare the layers it names.
    layers = [n for n in names if n in cv.getLayerNames()]
    want = dict(zip(layers, cv.forward(layers)))
    worst = 0.0
    for n in layers:
        if got[n].shape != want[n].shape:
            raise SystemExit(f"{name}: {n} is {got[n].shape} in onnxruntime, {want[n].shape} in OpenCV's Caffe import")
        err = float(np.abs(got[n] - want[n]).max() / max(1e-6, float(np.abs(want[n]).max())))
        worst = max(worst, err)
        if err > 1e-4:
            raise SystemExit(f"{name}: {n} differs between onnxruntime and OpenCV's Caffe import by {err:.2e} of its range")
    print(f"{name}: onnxruntime {ort.__version__} on the export gives OpenCV's Caffe outputs on {os.path.basename(image)} "
          f"(layers {', '.join(layers)}; largest difference {worst:.1e} of a layer's range)")


MAKERS = {**{n: caffe_to_onnx for n in CAFFE_MODELS}, **{n: materialise for n in LIGHT_MODELS}, "vgg16": lambda n: vgg16()}

if __name__ == "__main__":
    args = sys.argv[1:]
    force = "--force" in args
    failed = False
    for name in [a for a in args if a != "--force"] or DEFAULT:
        if name not in MAKERS:
            raise SystemExit(f"unknown model {name}; one of {', '.join(MAKERS)}")
        path = os.path.join(OUT, f"{name}.onnx")
        if os.path.exists(path) and not force:
            continue
        try:
            MAKERS[name](name)
        except Exception as e:  # one model that cannot be made must not stop the others
            print(f"{name}: not made: {type(e).__name__}: {e}")
            failed = True
    sys.exit(1 if failed else 0)
