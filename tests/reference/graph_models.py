"""Weightless ONNX graphs of well-known CNNs, for the network analysis and the graph view.

Each model is written as <name>.onnx with its large float initializers removed, plus <name>.weights.json
listing them ({"name", "dims"}), so the files stay small: a test fills them in (zeros to count, or a seeded
generator to run) before loading. torchvision architectures are exported by torch.onnx.export (TorchScript
exporter, eval mode, so BatchNorm folds into the convolutions); ZFNet-512 comes from the weightless
`light_zfnet512` graph that the onnx package ships, its ConstantOfShape weights turned into the same list.

Usage: python3 tests/reference/graph_models.py [--check]"""
import io
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "core", "tests", "data", "graphs")
SMALL = 64  # initializers with fewer values (shapes, small constants) stay in the graph


def strip(model, name, files):
    g = model.graph
    kept, removed = [], []
    for t in g.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims)) >= SMALL:
            removed.append({"name": t.name, "dims": [int(d) for d in t.dims]})
        else:
            kept.append(t)
    del g.initializer[:]
    g.initializer.extend(kept)
    names = {t["name"] for t in removed}
    keep_inputs = [i for i in g.input if i.name not in names]
    del g.input[:]
    g.input.extend(keep_inputs)
    model.producer_name, model.producer_version = "zfvis graph_models.py", ""
    files[f"{name}.onnx"] = model.SerializeToString()
    files[f"{name}.weights.json"] = (json.dumps(removed, indent=0) + "\n").encode()


def torchvision_graphs(files):
    import torch
    import torchvision.models as tv

    makers = {
        "alexnet": lambda: tv.alexnet(),
        "vgg16": lambda: tv.vgg16(),
        "resnet18": lambda: tv.resnet18(),
        "squeezenet1_1": lambda: tv.squeezenet1_1(),
        "googlenet": lambda: tv.googlenet(aux_logits=False, init_weights=False, transform_input=False),
    }
    for name, make in makers.items():
        torch.manual_seed(0)
        m = make().eval()
        buf = io.BytesIO()
        torch.onnx.export(m, torch.zeros(1, 3, 224, 224), buf, opset_version=13, dynamo=False,
                          input_names=["data"], output_names=["logits"], do_constant_folding=True)
        strip(onnx.load_from_string(buf.getvalue()), name, files)


def zfnet512(files):
    path = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "light_zfnet512.onnx")
    m = onnx.load(path)
    g = m.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes, weights = [], []
    for n in g.node:
        if n.op_type == "ConstantOfShape":
            dims = [int(d) for d in consts[n.input[0]]]
            weights.append(numpy_helper.from_array(np.zeros(dims, np.float32), n.output[0]))
        else:
            nodes.append(n)
    used = {i for n in nodes for i in n.input}
    inputs = [i for i in g.input if i.name in used and i.name not in consts]
    init = [t for t in g.initializer if t.name in used] + weights
    graph = helper.make_graph(nodes, "zfnet512", inputs, list(g.output), init)
    strip(helper.make_model(graph, opset_imports=m.opset_import, ir_version=m.ir_version), "zfnet512", files)


def generate(_caffe_pb2, folder):
    files = {}
    torchvision_graphs(files)
    zfnet512(files)
    for name, data in files.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    from pathlib import Path

    from refdata import publish

    publish(generate, Path(OUT), check="--check" in sys.argv)
