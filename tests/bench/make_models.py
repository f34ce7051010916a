"""Full-size benchmark models with seeded random weights, built from the weightless `light_*` graphs that the
`onnx` package ships (onnx/backend/test/data/light): every ConstantOfShape that stands for a weight becomes
an initializer of that shape, filled from a seeded generator. The files are large; they go to
target/bench-models/ and are never committed.

Usage: python3 tests/bench/make_models.py [zfnet512 ...]"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench-models")
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
MODELS = {"zfnet512": "light_zfnet512.onnx", "alexnet": "light_bvlc_alexnet.onnx", "vgg19": "light_vgg19.onnx"}


def materialise(name, seed=0):
    m = onnx.load(os.path.join(LIGHT, MODELS[name]))
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
    model = helper.make_model(graph, opset_imports=m.opset_import, ir_version=m.ir_version)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{name}.onnx")
    onnx.save(model, path)
    params = sum(int(np.prod(t.dims)) for t in weights)
    print(f"{path}: {params / 1e6:.1f} M parameters, {os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["zfnet512"]:
        materialise(name)
