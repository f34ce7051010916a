#!/usr/bin/env python3
"""Malformed-input corpus for zfvis (issue 8, item 3): model files that must be refused.

Usage:
    python3 tests/corpus/make_corpus.py [OUT_DIR]        # default: target/corpus

Needs python3 and numpy only. Deterministic: every random choice comes from a fixed seed, so the same
checkout always writes the same bytes.

What it writes into OUT_DIR:
  * the broken files (flat, one directory, names prefixed by the case id),
  * the good files they derive from (good_*: a tiny Caffe net and a tiny ONNX net built here, plus copies of
    committed fixtures: crates/core/tests/data/caffe_layers/conv.*, onnx_exports/digits_cnn/model.onnx,
    www/examples/lenet/lenet_iter_1000.caffemodel with crates/core/src/train/nets/lenet_train_test.prototxt),
  * manifest.json:
        {"version": 1, "cases": [{
            "id":     "onnx_trunc_half",                  # unique, [a-z0-9_]
            "kind":   "truncation",                       # truncation, bitflip, wrong_type, resource, ...
            "what":   "tiny.onnx cut at 50% (412 of 825 bytes)",
            "files":  ["onnx_trunc_half.onnx"],           # the broken file(s) of this case
            "args":   ["info", "onnx_trunc_half.onnx"],   # the zfvis command line, paths relative to OUT_DIR
            "expect": "refuse"                            # refuse | warn | ok
        }, ...]}
    expect = "refuse": zfvis must exit with its error status (1) and a specific message on stderr, without a
    panic, a signal, a hang or unbounded memory. "warn": it may load but must print a note. "ok": a control
    case (a good model) that must load; a runner uses these to show the CLI still works after the corpus.

Every "refuse" case is built to be invalid for a reason the docs of its format make certain (wire type 6/7,
a length past the end, a cut inside an open brace, a tensor larger than its payload, a shape that cannot
exist), not merely different: a bit flip that only changes a weight would load fine, so bit flips are aimed
at structural bytes (field tags and length prefixes) and each is checked here to really break the message.

The Rust runner is crates/cli/tests/corpus.rs.
"""

import json
import os
import struct
import sys
import zlib

import numpy as np

SEED = 20240808
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# ----------------------------------------------------------------------------------------------------------
# Protobuf wire format
# ----------------------------------------------------------------------------------------------------------

def varint(n):
    if n < 0:
        n &= (1 << 64) - 1  # int32/int64 negatives: ten bytes, two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, 2) + varint(len(b)) + b


def f_float(field, x):
    return key(field, 5) + struct.pack("<f", x)


def f_packed_floats(field, arr):
    return f_bytes(field, np.asarray(arr, dtype="<f4").tobytes())


def f_packed_varints(field, vals):
    return f_bytes(field, b"".join(varint(int(v)) for v in vals))


def read_varint(b, i):
    n, shift = 0, 0
    while True:
        if i >= len(b) or shift > 63:
            raise ValueError("bad varint")
        c = b[i]
        n |= (c & 0x7F) << shift
        i += 1
        shift += 7
        if not c & 0x80:
            return n, i


def walk(b, schema, start=0, end=None, depth=0):
    """Yields (tag_pos, field, wire, len_pos, payload_start, payload_end, depth) for every field of the
    message b[start:end], descending into fields that `schema` names as sub-messages. Raises ValueError
    if the bytes are not a well-formed message."""
    end = len(b) if end is None else end
    i = start
    while i < end:
        tag_pos = i
        t, i = read_varint(b, i)
        field, wire = t >> 3, t & 7
        if field == 0:
            raise ValueError("field 0")
        if wire == 0:
            _, i = read_varint(b, i)
            yield tag_pos, field, wire, None, None, None, depth
        elif wire == 1:
            i += 8
            yield tag_pos, field, wire, None, None, None, depth
        elif wire == 5:
            i += 4
            yield tag_pos, field, wire, None, None, None, depth
        elif wire == 2:
            len_pos = i
            n, i = read_varint(b, i)
            if i + n > end:
                raise ValueError("length past the end")
            yield tag_pos, field, wire, len_pos, i, i + n, depth
            sub = schema.get(field) if schema else None
            if sub is not None:
                yield from walk(b, sub, i, i + n, depth + 1)
            i += n
        else:
            raise ValueError(f"wire type {wire}")
        if i > end:
            raise ValueError("past the end")


def well_formed(b, schema):
    try:
        for _ in walk(b, schema):
            pass
        return True
    except ValueError:
        return False


# Which fields are sub-messages, as far as the walker needs to know.
BLOB = {7: {}}                                   # BlobProto.shape
CAFFE_LAYER = {7: BLOB, 6: BLOB}                 # LayerParameter.blobs (V2: 7, V1 layers: 6)
CAFFEMODEL = {100: CAFFE_LAYER, 2: CAFFE_LAYER}  # NetParameter.layer / .layers
ONNX_TENSOR = {}
ONNX_ATTR = {5: ONNX_TENSOR}
ONNX_NODE = {5: ONNX_ATTR}
ONNX_VALUE_INFO = {2: {1: {2: {1: {}}}}}         # type.tensor_type.shape.dim
ONNX_GRAPH = {1: ONNX_NODE, 5: ONNX_TENSOR, 11: ONNX_VALUE_INFO, 12: ONNX_VALUE_INFO}
ONNX_MODEL = {7: ONNX_GRAPH, 8: {}}


# ----------------------------------------------------------------------------------------------------------
# Small valid models
# ----------------------------------------------------------------------------------------------------------

def caffe_blob(arr):
    arr = np.asarray(arr, dtype="<f4")
    shape = f_packed_varints(1, arr.shape)
    return f_bytes(7, shape) + f_packed_floats(5, arr.ravel())


def caffe_blob_raw(dims, data):
    return f_bytes(7, f_packed_varints(1, dims)) + f_packed_floats(5, data)


def caffe_layer(name, ty, blobs=()):
    return f_bytes(100, f_bytes(1, name) + f_bytes(2, ty) + b"".join(f_bytes(7, bl) for bl in blobs))


def caffemodel(name, layers):
    return f_bytes(1, name) + b"".join(layers)


TINY_PROTOTXT = """name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 2 kernel_size: 3 stride: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool1" top: "fc" inner_product_param { num_output: 3 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""


def tiny_prototxt(input_dims=(1, 1, 8, 8), conv="num_output: 2 kernel_size: 3 stride: 1", extra=""):
    dims = " ".join(f"dim: {d}" for d in input_dims)
    return (
        'name: "tiny"\n'
        f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
        f'layer {{ name: "conv1" type: "Convolution" bottom: "data" top: "conv1"\n'
        f"  convolution_param {{ {conv} }} }}\n"
        'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n'
        'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"\n'
        "  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n"
        'layer { name: "fc" type: "InnerProduct" bottom: "pool1" top: "fc" inner_product_param { num_output: 3 } }\n'
        'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n'
        + extra
    )


def tiny_caffemodel(rng, conv_w_shape=(2, 1, 3, 3), fc_in=18):
    w1 = rng.standard_normal(conv_w_shape).astype("<f4")
    b1 = rng.standard_normal(conv_w_shape[0]).astype("<f4")
    w2 = rng.standard_normal((3, fc_in)).astype("<f4")
    b2 = rng.standard_normal(3).astype("<f4")
    return caffemodel("tiny", [
        caffe_layer("data", "Input"),
        caffe_layer("conv1", "Convolution", [caffe_blob(w1), caffe_blob(b1)]),
        caffe_layer("relu1", "ReLU"),
        caffe_layer("pool1", "Pooling"),
        caffe_layer("fc", "InnerProduct", [caffe_blob(w2), caffe_blob(b2)]),
        caffe_layer("prob", "Softmax"),
    ])


# ONNX
FLOAT = 1


def onnx_tensor(name, arr=None, dims=None, raw=None, data_type=FLOAT):
    out = b""
    if arr is not None:
        arr = np.asarray(arr, dtype="<f4")
        dims = arr.shape if dims is None else dims
        raw = arr.tobytes() if raw is None else raw
    out += b"".join(f_varint(1, d) for d in dims)
    out += f_varint(2, data_type)
    out += f_bytes(8, name)
    if raw is not None:
        out += f_bytes(9, raw)
    return out


def onnx_attr_ints(name, vals):
    return f_bytes(1, name) + b"".join(f_varint(8, v) for v in vals) + f_varint(20, 7)


def onnx_attr_int(name, v):
    return f_bytes(1, name) + f_varint(3, v) + f_varint(20, 2)


def onnx_node(op, inputs, outputs, name, attrs=()):
    return (b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
            + f_bytes(3, name) + f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def onnx_value_info(name, dims):
    shape = b"".join(f_bytes(1, f_varint(1, d) if isinstance(d, int) else f_bytes(2, d)) for d in dims)
    tensor_type = f_varint(1, FLOAT) + f_bytes(2, shape)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def onnx_graph(nodes, inits, inputs, outputs, name="tiny"):
    return (b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, name)
            + b"".join(f_bytes(5, t) for t in inits)
            + b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs))


def onnx_model(graph, opset=13, ir=7):
    return (f_varint(1, ir) + f_bytes(2, "make_corpus.py") + f_bytes(7, graph)
            + f_bytes(8, f_bytes(1, "") + f_varint(2, opset)))


def tiny_onnx_parts(rng):
    """The pieces of a valid 1×1×8×8 → Conv 3×3 → Relu → MaxPool 2 → Flatten → Gemm → 3 net."""
    w1 = rng.standard_normal((2, 1, 3, 3))
    b1 = rng.standard_normal(2)
    w2 = rng.standard_normal((3, 18))
    b2 = rng.standard_normal(3)
    inits = [onnx_tensor("W1", w1), onnx_tensor("B1", b1), onnx_tensor("W2", w2), onnx_tensor("B2", b2)]
    nodes = [
        onnx_node("Conv", ["x", "W1", "B1"], ["c"], "conv1", [onnx_attr_ints("kernel_shape", [3, 3])]),
        onnx_node("Relu", ["c"], ["r"], "relu1"),
        onnx_node("MaxPool", ["r"], ["p"], "pool1",
                  [onnx_attr_ints("kernel_shape", [2, 2]), onnx_attr_ints("strides", [2, 2])]),
        onnx_node("Flatten", ["p"], ["f"], "flat"),
        onnx_node("Gemm", ["f", "W2", "B2"], ["y"], "fc", [onnx_attr_int("transB", 1)]),
    ]
    return nodes, inits, [onnx_value_info("x", [1, 1, 8, 8])], [onnx_value_info("y", [1, 3])]


def tiny_onnx(rng, nodes=None, inits=None, inputs=None, outputs=None):
    n, i, a, o = tiny_onnx_parts(rng)
    return onnx_model(onnx_graph(nodes if nodes is not None else n, inits if inits is not None else i,
                                 inputs if inputs is not None else a, outputs if outputs is not None else o))


def mean_binaryproto(arr):
    arr = np.asarray(arr, dtype="<f4")
    c, h, w = arr.shape
    return (f_varint(1, 1) + f_varint(2, c) + f_varint(3, h) + f_varint(4, w)
            + f_packed_floats(5, arr.ravel()))


# ----------------------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_grey(rows):
    """An 8-bit greyscale PNG of these rows of pixel values."""
    ihdr = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0)
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def digit_pixels():
    """A 28×28 white '3' drawn with strokes on black, as MNIST digits are."""
    img = [[0] * 28 for _ in range(28)]
    for y in (6, 13, 20):
        for x in range(9, 19):
            img[y][x] = img[y + 1][x] = 255
    for y in range(6, 22):
        img[y][18] = img[y][19] = 255
    return img


def png_declaring(width, height):
    """A PNG with a valid header for width×height RGB pixels and one short compressed row."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(64))) + png_chunk(b"IEND", b"")


class Corpus:
    def __init__(self, out):
        self.out = out
        self.cases = []
        self.ids = set()

    def write(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(data)
        return name

    def copy(self, src_rel, name):
        with open(os.path.join(ROOT, src_rel), "rb") as f:
            return self.write(name, f.read())

    def case(self, cid, kind, what, files, args, expect="refuse", memory=None):
        """memory="2x_file": the run may not grow past twice the files' size (over a good tiny model's run)."""
        assert cid not in self.ids, cid
        assert expect in ("refuse", "warn", "ok")
        for f in files:
            assert os.path.exists(os.path.join(self.out, f)), f
        self.ids.add(cid)
        c = {"id": cid, "kind": kind, "what": what, "files": files, "args": args, "expect": expect}
        if memory:
            c["memory"] = memory
        self.cases.append(c)


def cut_inside_braces(text, frac):
    """The first offset at or after frac·len where the prototxt is inside an open `{`, outside a string
    and a comment, so that the cut cannot leave a shorter but valid net."""
    depth, in_str, in_comment = 0, None, False
    ok = []
    for i, ch in enumerate(text):
        if depth > 0 and not in_str and not in_comment:
            ok.append(i)
        if in_comment:
            in_comment = ch != "\n"
        elif in_str:
            if ch == "\\":
                continue
            if ch == in_str:
                in_str = None
        elif ch in "\"'":
            in_str = ch
        elif ch == "#":
            in_comment = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
    target = int(len(text) * frac)
    return next(i for i in ok if i >= target)


def top_level_boundaries(b):
    return {p[0] for p in walk(b, {}) if p[6] == 0} | {len(b)}


def cut_not_at_boundary(b, off):
    """A cut that does not land on a top-level field boundary (which could leave a valid, shorter file)."""
    bounds = top_level_boundaries(b)
    while off in bounds and off > 1:
        off -= 1
    return off


def structural_flips(b, schema, rng, count):
    """Seeded single-bit flips in tags (wire type 2 → 6) and length prefixes (a length past its end),
    each checked to leave a malformed message."""
    fields = [p for p in walk(b, schema) if p[2] == 2]
    order = rng.permutation(len(fields))
    flips = []
    for k in order:
        tag_pos, field, wire, len_pos, start, end, depth = fields[k]
        kind = len(flips) % 2
        if kind == 0:
            pos, bit = tag_pos, 2  # the low bits of the first tag byte are the wire type: 2 → 6
            # A multi-byte tag: the wire type lives in the first byte all the same.
        else:
            # The highest set bit of the length's last byte, raised by one if still in range: a longer length.
            _, after = read_varint(b, len_pos)
            pos = after - 1
            bit = min(6, max(0, (b[pos] & 0x7F).bit_length()))
            if b[pos] & (1 << bit):
                continue
        m = bytearray(b)
        m[pos] ^= 1 << bit
        if not well_formed(bytes(m), schema):
            flips.append((pos, bit, bytes(m), "tag wire type 2→6" if kind == 0 else "length prefix enlarged"))
        if len(flips) == count:
            break
    return flips


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "corpus"))
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        p = os.path.join(out, f)
        if os.path.isfile(p):
            os.remove(p)
    rng = np.random.default_rng(SEED)
    c = Corpus(out)

    # --- good files ---------------------------------------------------------------------------------------
    tiny_pt = c.write("good_tiny.prototxt", tiny_prototxt())
    tiny_cm_bytes = tiny_caffemodel(np.random.default_rng(SEED + 1))
    tiny_cm = c.write("good_tiny.caffemodel", tiny_cm_bytes)
    tiny_onnx_bytes = tiny_onnx(np.random.default_rng(SEED + 2))
    tiny_ox = c.write("good_tiny.onnx", tiny_onnx_bytes)
    conv_pt = c.copy("crates/core/tests/data/caffe_layers/conv.prototxt", "good_conv.prototxt")
    conv_cm = c.copy("crates/core/tests/data/caffe_layers/conv.caffemodel", "good_conv.caffemodel")
    lenet_pt = c.copy("crates/core/src/train/nets/lenet_train_test.prototxt", "good_lenet.prototxt")
    lenet_cm = c.copy("www/examples/lenet/lenet_iter_1000.caffemodel", "good_lenet.caffemodel")
    digits = c.copy("crates/core/tests/data/onnx_exports/digits_cnn/model.onnx", "good_digits_cnn.onnx")
    png = c.write("good_digit_3.png", png_grey(digit_pixels()))
    input_npy = "good_input.npy"
    np.save(os.path.join(out, input_npy), np.random.default_rng(SEED + 3).standard_normal((1, 1, 8, 8)).astype("<f4"))
    good_mean = mean_binaryproto(np.full((1, 8, 8), 0.5, dtype="<f4"))
    mean_ok = c.write("good_mean.binaryproto", good_mean)
    with open(os.path.join(out, lenet_cm), "rb") as f:
        lenet_bytes = f.read()
    with open(os.path.join(out, conv_cm), "rb") as f:
        conv_bytes = f.read()
    with open(os.path.join(out, lenet_pt)) as f:
        lenet_text = f.read()

    c.case("ok_tiny_caffe", "control", "the tiny Caffe net built here", [tiny_pt, tiny_cm], ["info", tiny_pt, tiny_cm], "ok")
    c.case("ok_tiny_onnx", "control", "the tiny ONNX net built here", [tiny_ox], ["info", tiny_ox], "ok")
    c.case("ok_conv_caffe", "control", "caffe_layers/conv fixture", [conv_pt, conv_cm], ["info", conv_pt, conv_cm], "ok")
    c.case("ok_lenet", "control", "LeNet train_test prototxt + lenet_iter_1000.caffemodel",
           [lenet_pt, lenet_cm], ["info", lenet_pt, lenet_cm], "ok")
    c.case("ok_digits_onnx", "control", "onnx_exports/digits_cnn", [digits], ["info", digits], "ok")
    c.case("ok_tiny_forward_mean", "control", "forward with a good mean.binaryproto", [tiny_pt, tiny_cm, mean_ok, input_npy],
           ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", mean_ok], "ok")

    # --- truncations --------------------------------------------------------------------------------------
    def truncations(prefix, data, ext, frac_list, mk_args, what):
        n = len(data)
        for label, off in frac_list(n):
            name = c.write(f"{prefix}_trunc_{label}{ext}", data[:off])
            c.case(f"{prefix}_trunc_{label}", "truncation", f"{what} cut to {off} of {n} bytes", [name], mk_args(name))

    def offs(b):
        n = len(b)
        return [("0", 0), ("1", 1), ("7", cut_not_at_boundary(b, 7)), ("third", cut_not_at_boundary(b, n // 3)),
                ("half", cut_not_at_boundary(b, n // 2)), ("all_but_1", n - 1)]

    truncations("onnx", tiny_onnx_bytes, ".onnx", lambda n: offs(tiny_onnx_bytes), lambda f: ["info", f], "tiny.onnx")
    truncations("digits", open(os.path.join(out, digits), "rb").read(), ".onnx",
                lambda n: [("half", n // 2 + 3), ("all_but_1", n - 1)], lambda f: ["info", f], "digits_cnn model.onnx")
    truncations("tinycm", tiny_cm_bytes, ".caffemodel",
                lambda n: [(k, v) for k, v in offs(tiny_cm_bytes) if k != "0"],
                lambda f: ["info", tiny_pt, f], "tiny.caffemodel")
    truncations("lenetcm", lenet_bytes, ".caffemodel",
                lambda n: [("1", 1), ("half", cut_not_at_boundary(lenet_bytes, n // 2)), ("all_but_1", n - 1)],
                lambda f: ["info", lenet_pt, f], "lenet_iter_1000.caffemodel")
    for label, frac in [("third", 1 / 3), ("half", 0.5), ("end", 0.98)]:
        off = cut_inside_braces(lenet_text, frac)
        name = c.write(f"lenetpt_trunc_{label}.prototxt", lenet_text[:off])
        c.case(f"lenetpt_trunc_{label}", "truncation", f"lenet prototxt cut inside an open brace at {off} of {len(lenet_text)}",
               [name], ["info", name, lenet_cm])
    mean_cut = c.write("mean_trunc_half.binaryproto", good_mean[: len(good_mean) // 2])
    c.case("mean_trunc_half", "truncation", "mean.binaryproto cut in half (inside the packed data)",
           [tiny_pt, tiny_cm, mean_cut, input_npy], ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", mean_cut])
    mean_cut1 = c.write("mean_trunc_all_but_1.binaryproto", good_mean[:-1])
    c.case("mean_trunc_all_but_1", "truncation", "mean.binaryproto missing its last byte",
           [tiny_pt, tiny_cm, mean_cut1, input_npy], ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", mean_cut1])

    # --- bit flips ----------------------------------------------------------------------------------------
    flip_rng = np.random.default_rng(SEED + 10)
    for k, (pos, bit, data, how) in enumerate(structural_flips(tiny_onnx_bytes, ONNX_MODEL, flip_rng, 6)):
        name = c.write(f"onnx_flip_{k}.onnx", data)
        c.case(f"onnx_flip_{k}", "bitflip", f"tiny.onnx, bit {bit} of byte {pos} flipped ({how})", [name], ["info", name])
    for k, (pos, bit, data, how) in enumerate(structural_flips(tiny_cm_bytes, CAFFEMODEL, flip_rng, 4)):
        name = c.write(f"tinycm_flip_{k}.caffemodel", data)
        c.case(f"tinycm_flip_{k}", "bitflip", f"tiny.caffemodel, bit {bit} of byte {pos} flipped ({how})",
               [name], ["info", tiny_pt, name])
    for k, (pos, bit, data, how) in enumerate(structural_flips(lenet_bytes, CAFFEMODEL, flip_rng, 3)):
        name = c.write(f"lenetcm_flip_{k}.caffemodel", data)
        c.case(f"lenetcm_flip_{k}", "bitflip", f"lenet_iter_1000.caffemodel, bit {bit} of byte {pos} flipped ({how})",
               [name], ["info", lenet_pt, name])
    # A prototxt flip: a brace turned into something else ('{' 0x7b ^ 0x02 = 'y'), chosen by seed.
    braces = [i for i, ch in enumerate(lenet_text) if ch == "{"]
    i = braces[int(flip_rng.integers(len(braces)))]
    name = c.write("lenetpt_flip_brace.prototxt", lenet_text[:i] + "y" + lenet_text[i + 1:])
    c.case("lenetpt_flip_brace", "bitflip", f"lenet prototxt, the '{{' at {i} flipped to 'y'", [name], ["info", name, lenet_cm])

    # --- wrong types --------------------------------------------------------------------------------------
    def wrong(cid, what, data, ext, args_of):
        name = c.write(cid + ext, data)
        c.case(cid, "wrong_type", what, [name], args_of(name))

    as_onnx = lambda f: ["info", f]
    as_weights = lambda f: ["info", tiny_pt, f]
    as_proto = lambda f: ["info", f, tiny_cm]
    wrong("caffemodel_as_onnx", "a .caffemodel renamed .onnx", tiny_cm_bytes, ".onnx", as_onnx)
    wrong("lenet_caffemodel_as_onnx", "lenet .caffemodel renamed .onnx", lenet_bytes, ".onnx", as_onnx)
    wrong("onnx_as_caffemodel", "an ONNX model given as Caffe weights", tiny_onnx_bytes, ".caffemodel", as_weights)
    wrong("prototxt_as_onnx", "a prototxt given alone, as if ONNX", tiny_prototxt(), ".onnx", as_onnx)
    name = c.write("prototxt_as_weights.caffemodel", tiny_prototxt())
    c.case("prototxt_as_weights", "wrong_type", "the prototxt given twice (as net and as weights)", [name], ["info", tiny_pt, name])
    name = c.write("weights_as_prototxt.prototxt", tiny_cm_bytes)
    c.case("weights_as_prototxt", "wrong_type", "the weights given twice (as net and as weights)", [name], ["info", name, tiny_cm])
    c.case("png_as_onnx", "wrong_type", "a PNG image given as a model", [png], ["info", png])
    c.case("png_as_weights", "wrong_type", "a PNG image given as Caffe weights", [png], ["info", tiny_pt, png])
    jpeg = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65)) + b"\xff\xd9")
    wrong("jpeg_as_onnx", "a JPEG (header and quant table) given as a model", jpeg, ".onnx", as_onnx)
    wrong("jpeg_as_caffemodel", "a JPEG given as Caffe weights", jpeg, ".caffemodel", as_weights)
    html = ("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
            "<body><h1>Not Found</h1><p>The requested URL /models/resnet18.onnx was not found.</p>"
            "<script>alert(1)</script></body></html>\n")
    wrong("html_as_onnx", "an HTML error page saved as model.onnx", html, ".onnx", as_onnx)
    wrong("html_as_caffemodel", "an HTML page saved as .caffemodel (both files then text)", html, ".caffemodel", as_weights)
    wrong("html_as_prototxt", "an HTML page given as the prototxt", html, ".prototxt", as_proto)
    wrong("json_as_onnx", "a JSON document given as a model", json.dumps({"model": "resnet", "layers": [1, 2, 3]}), ".onnx", as_onnx)
    wrong("json_as_prototxt", "a JSON document given as the prototxt", '{"layer": [{"name": "conv1"}]}', ".prototxt", as_proto)
    rnd = np.random.default_rng(SEED + 20)
    wrong("random_4k_onnx", "4 KiB of seeded random bytes as .onnx", rnd.bytes(4096), ".onnx", as_onnx)
    wrong("random_64k_onnx", "64 KiB of seeded random bytes as .onnx", rnd.bytes(65536), ".onnx", as_onnx)
    wrong("random_4k_caffemodel", "4 KiB of seeded random bytes as weights", rnd.bytes(4096), ".caffemodel", as_weights)
    wrong("zeros_onnx", "4 KiB of zero bytes as .onnx", bytes(4096), ".onnx", as_onnx)
    wrong("zeros_caffemodel", "4 KiB of zero bytes as weights", bytes(4096), ".caffemodel", as_weights)
    wrong("h5_not_hdf5", "a .caffemodel.h5 holding random bytes, not HDF5", rnd.bytes(2048), ".caffemodel.h5", as_weights)
    wrong("h5_signature_only", "an HDF5 signature followed by nothing", b"\x89HDF\r\n\x1a\n", ".caffemodel.h5", as_weights)
    wrong("h5_signature_garbage", "an HDF5 signature followed by random bytes", b"\x89HDF\r\n\x1a\n" + rnd.bytes(1024),
          ".caffemodel.h5", as_weights)
    # A version-0 superblock whose addresses point far past the end of the file.
    sb = (b"\x89HDF\r\n\x1a\n" + bytes([0, 0, 0, 0, 0, 8, 8, 0]) + struct.pack("<HH", 4, 16) + struct.pack("<I", 0)
          + struct.pack("<QQQQ", 0, 0xFFFFFFFFFFFFFFFF, 1 << 60, 0xFFFFFFFFFFFFFFFF)
          + struct.pack("<QQ", 0, 1 << 50) + bytes(24))
    wrong("h5_superblock_far", "an HDF5 v0 superblock whose root group and end-of-file lie past 2^50", sb,
          ".caffemodel.h5", as_weights)
    wrong("mean_is_png", "a PNG given as --mean", open(os.path.join(out, png), "rb").read(), ".binaryproto",
          lambda f: ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", f])

    # --- empty files --------------------------------------------------------------------------------------
    empty = c.write("empty.onnx", b"")
    c.case("empty_onnx", "empty", "an empty .onnx", [empty], ["info", empty])
    e_pt = c.write("empty.prototxt", b"")
    c.case("empty_prototxt", "empty", "an empty prototxt with good weights", [e_pt], ["info", e_pt, tiny_cm])
    e_cm = c.write("empty.caffemodel", b"")
    c.case("empty_caffemodel", "empty", "a good prototxt with an empty .caffemodel", [e_cm], ["info", tiny_pt, e_cm])
    e_mean = c.write("empty.binaryproto", b"")
    c.case("empty_mean", "empty", "an empty mean.binaryproto", [e_mean],
           ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", e_mean])
    ws = c.write("whitespace.prototxt", "\n\n   # only a comment\n\n")
    c.case("whitespace_prototxt", "empty", "a prototxt of whitespace and a comment", [ws], ["info", ws, tiny_cm])

    # --- huge declared sizes ------------------------------------------------------------------------------
    def res(cid, what, data, ext, args_of):
        name = c.write(cid + ext, data)
        c.case(cid, "resource", what, [name], args_of(name))

    res("onnx_huge_len_graph", "ONNX: the graph field declares 2^62 bytes", key(7, 2) + varint(1 << 62) + b"\x0a\x00", ".onnx", as_onnx)
    res("onnx_huge_len_2g", "ONNX: the graph field declares 2^31+1 bytes, the file has 4",
        f_varint(1, 7) + key(7, 2) + varint((1 << 31) + 1) + b"\x0a\x00\x0a\x00", ".onnx", as_onnx)
    res("onnx_overlong_varint", "ONNX: a varint of 11 continuation bytes", f_varint(1, 7)[:1] + b"\xff" * 11 + b"\x01", ".onnx", as_onnx)
    res("caffemodel_huge_len", "caffemodel: a layer field declares 2^40 bytes", key(100, 2) + varint(1 << 40) + b"\x0a\x01a",
        ".caffemodel", as_weights)
    res("mean_huge_len", "mean.binaryproto: packed data declares 2^40 bytes",
        f_varint(1, 1) + f_varint(2, 1) + f_varint(3, 8) + f_varint(4, 8) + key(5, 2) + varint(1 << 40) + bytes(8),
        ".binaryproto", lambda f: ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", f])
    tera = 10 ** 12
    big_blob = caffemodel("tiny", [
        caffe_layer("conv1", "Convolution", [caffe_blob_raw([10 ** 6, 10 ** 6], [1.0]), caffe_blob(np.zeros(2))]),
    ])
    res("caffemodel_blob_1e12", "caffemodel: conv1's blob declares 10^6×10^6 = 10^12 floats with 4 bytes of data",
        big_blob, ".caffemodel", as_weights)
    legacy = f_varint(1, 10000) + f_varint(2, 10000) + f_varint(3, 100) + f_varint(4, 100) + f_packed_floats(5, [1.0])
    # The same with 16 MB of values: refused with memory under twice the file's size.
    data16 = np.zeros(1 << 22, dtype="<f4")
    name = c.write("caffemodel_blob_1e12_16mb.caffemodel", caffemodel("tiny", [
        caffe_layer("conv1", "Convolution", [caffe_blob_raw([10 ** 6, 10 ** 6], data16), caffe_blob(np.zeros(2))])]))
    c.case("caffemodel_blob_1e12_16mb", "resource", "caffemodel: conv1's blob declares 10^12 floats and holds 4M (16 MB)",
           [name], as_weights(name), memory="2x_file")
    res("caffemodel_blob_1e12_legacy", "caffemodel: conv1's blob declares num×channels×height×width = 10^12 (legacy dims)",
        caffemodel("tiny", [caffe_layer("conv1", "Convolution", [legacy])]), ".caffemodel", as_weights)
    over = caffemodel("tiny", [caffe_layer("conv1", "Convolution", [caffe_blob_raw([1 << 32, 1 << 32, 1 << 32], [1.0])])])
    res("caffemodel_blob_overflow", "caffemodel: blob dims 2^32×2^32×2^32 (the product overflows u64)", over, ".caffemodel", as_weights)
    neg = caffemodel("tiny", [caffe_layer("conv1", "Convolution", [caffe_blob_raw([-2, 1, 3, 3], [1.0] * 18)])])
    res("caffemodel_blob_negative_dim", "caffemodel: blob dims -2×1×3×3 (negative, as int64)", neg, ".caffemodel", as_weights)
    n_, i_, a_, o_ = tiny_onnx_parts(np.random.default_rng(SEED + 2))
    res("onnx_init_1e12", "ONNX: initializer W1 declares 10^6×10^6 floats with 4 bytes of raw_data",
        onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[10 ** 6, 10 ** 6], raw=b"\0\0\x80?")] + i_[1:], a_, o_)),
        ".onnx", as_onnx)
    name = c.write("onnx_init_1e12_16mb.onnx",
                   onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[10 ** 6, 10 ** 6], raw=bytes(1 << 24))] + i_[1:], a_, o_)))
    c.case("onnx_init_1e12_16mb", "resource", "ONNX: initializer W1 declares 10^12 floats and holds 16 MB of raw_data",
           [name], as_onnx(name), memory="2x_file")
    res("onnx_init_overflow", "ONNX: initializer dims 2^40×2^40 (product overflows)",
        onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[1 << 40, 1 << 40], raw=b"\0" * 4)] + i_[1:], a_, o_)),
        ".onnx", as_onnx)
    res("onnx_init_negative_dim", "ONNX: initializer W1 dims -2×1×3×3",
        onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[-2, 1, 3, 3], raw=b"\0" * 72)] + i_[1:], a_, o_)),
        ".onnx", as_onnx)
    res("onnx_init_short_raw", "ONNX: initializer W1 declares 2×1×3×3 floats with 8 bytes",
        onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[2, 1, 3, 3], raw=b"\0" * 8)] + i_[1:], a_, o_)),
        ".onnx", as_onnx)
    res("onnx_init_bad_dtype", "ONNX: initializer W1 of data_type 99",
        onnx_model(onnx_graph(n_, [onnx_tensor("W1", dims=[2, 1, 3, 3], raw=b"\0" * 72, data_type=99)] + i_[1:], a_, o_)),
        ".onnx", as_onnx)
    res("onnx_input_1e12", "ONNX: graph input x declared 1×1×10^6×10^6",
        onnx_model(onnx_graph(n_, i_, [onnx_value_info("x", [1, 1, 10 ** 6, 10 ** 6])], o_)), ".onnx", as_onnx)
    res("onnx_input_negative", "ONNX: graph input x declared 1×1×-8×8",
        onnx_model(onnx_graph(n_, i_, [onnx_value_info("x", [1, 1, -8, 8])], o_)), ".onnx", as_onnx)
    res("onnx_input_zero", "ONNX: graph input x declared 1×1×0×8",
        onnx_model(onnx_graph(n_, i_, [onnx_value_info("x", [1, 1, 0, 8])], o_)), ".onnx", as_onnx)
    mean_big = f_varint(1, 1) + f_varint(2, 10 ** 4) + f_varint(3, 10 ** 4) + f_varint(4, 10 ** 4) + f_packed_floats(5, [0.0])
    res("mean_1e12", "mean.binaryproto declaring 1×10^4×10^4×10^4 with 4 bytes of data", mean_big, ".binaryproto",
        lambda f: ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", f])
    mean_wrong = mean_binaryproto(np.zeros((3, 5, 5), dtype="<f4"))
    res("mean_wrong_shape", "mean.binaryproto 3×5×5 for a 1×8×8 net", mean_wrong, ".binaryproto",
        lambda f: ["forward", tiny_pt, tiny_cm, "--image", png, "--mean", f])
    as_image = lambda f: ["forward", tiny_pt, tiny_cm, "--image", f]
    res("image_png_huge", "a PNG whose header declares 100000×100000 pixels", png_declaring(100_000, 100_000), ".png", as_image)
    with open(os.path.join(out, png), "rb") as f:
        digit = f.read()
    res("image_png_truncated", "the digit PNG cut in half", digit[: len(digit) // 2], ".png", as_image)
    res("image_png_is_text", "a text file named .png", "this is not an image\n", ".png", as_image)

    # --- absurd prototxt shapes and parameters ------------------------------------------------------------
    def bad_net(cid, what, text, weights=tiny_cm):
        name = c.write(cid + ".prototxt", text)
        c.case(cid, "bad_shape", what, [name, weights], ["info", name, weights])

    bad_net("pt_dim_negative", "Input dims 1×1×-8×8", tiny_prototxt((1, 1, -8, 8)))
    bad_net("pt_dim_zero", "Input dims 1×1×0×8", tiny_prototxt((1, 1, 0, 8)))
    bad_net("pt_dim_1e12", "Input dims 1×1×10^12×8", tiny_prototxt((1, 1, tera, 8)))
    bad_net("pt_dim_1e12_float", "Input dim written 1e12", tiny_prototxt((1, 1, "1e12", 8)))
    bad_net("pt_dim_overflow", "Input dims 2^62×2^62×8×8 (the product overflows)", tiny_prototxt((1 << 62, 1 << 62, 8, 8)))
    bad_net("pt_dim_too_big_int", "Input dim 99999999999999999999999 (past int64)", tiny_prototxt((1, 1, "99999999999999999999999", 8)))
    bad_net("pt_kernel_larger", "kernel 20×20 on an 8×8 input (weights 2×1×20×20 to match)",
            tiny_prototxt(conv="num_output: 2 kernel_size: 20"),
            c.write("pt_kernel_larger.caffemodel", tiny_caffemodel(np.random.default_rng(SEED + 4), (2, 1, 20, 20))))
    bad_net("pt_stride_zero", "convolution stride 0", tiny_prototxt(conv="num_output: 2 kernel_size: 3 stride: 0"))
    bad_net("pt_stride_negative", "convolution stride -1", tiny_prototxt(conv="num_output: 2 kernel_size: 3 stride: -1"))
    bad_net("pt_kernel_zero", "convolution kernel_size 0", tiny_prototxt(conv="num_output: 2 kernel_size: 0"))
    bad_net("pt_dilation_zero", "convolution dilation 0", tiny_prototxt(conv="num_output: 2 kernel_size: 3 dilation: 0"))
    bad_net("pt_group_zero", "convolution group 0", tiny_prototxt(conv="num_output: 2 kernel_size: 3 group: 0"))
    bad_net("pt_num_output_zero", "convolution num_output 0", tiny_prototxt(conv="num_output: 0 kernel_size: 3"))
    bad_net("pt_pad_huge", "convolution pad 2^31-1", tiny_prototxt(conv="num_output: 2 kernel_size: 3 pad: 2147483647"))
    pool_big = tiny_prototxt().replace("pool: MAX kernel_size: 2 stride: 2", "pool: MAX kernel_size: 50 stride: 2")
    bad_net("pt_pool_kernel_larger", "max pooling 50×50 over a 6×6 map", pool_big)
    pool_s0 = tiny_prototxt().replace("pool: MAX kernel_size: 2 stride: 2", "pool: MAX kernel_size: 2 stride: 0")
    bad_net("pt_pool_stride_zero", "pooling stride 0", pool_s0)
    missing = tiny_prototxt().replace('bottom: "pool1" top: "fc"', 'bottom: "nowhere" top: "fc"')
    bad_net("pt_missing_bottom", "InnerProduct reads a blob no layer produces", missing)
    cyc = tiny_prototxt().replace('bottom: "data" top: "conv1"', 'bottom: "fc" top: "conv1"')
    bad_net("pt_cycle", "conv1 reads fc, which is computed from conv1 (a cycle by names)", cyc)
    deep_n = 100000
    bad_net("pt_deep_braces", f"{deep_n} nested braces inside a layer",
            'name: "deep"\nlayer { name: "x" ' + "a { " * deep_n + "}" * deep_n + " }\n")
    bad_net("pt_deep_braces_unclosed", f"{deep_n} nested braces, never closed", "layer { " * deep_n)
    bad_net("pt_unterminated_string", "a string that never ends", tiny_prototxt().replace('name: "tiny"', 'name: "tiny'))
    bad_net("pt_unbalanced_close", "a stray closing brace", tiny_prototxt() + "}\n")
    bad_net("pt_long_token", "a 4 MiB identifier", "layer { " + "x" * (4 << 20) + ": 1 }\n")
    bad_net("pt_bad_enum", "pooling method NOTAPOOL", tiny_prototxt().replace("pool: MAX", "pool: NOTAPOOL"))
    bad_net("pt_many_layers_missing_weights", "20000 InnerProduct layers with no weights for them",
            tiny_prototxt() + "".join(
                f'layer {{ name: "ip{k}" type: "InnerProduct" bottom: "prob" top: "ip{k}" inner_product_param {{ num_output: 3 }} }}\n'
                for k in range(20000)))

    # --- ONNX graph problems ------------------------------------------------------------------------------
    def bad_graph(cid, what, model):
        name = c.write(cid + ".onnx", model)
        c.case(cid, "bad_graph", what, [name], ["info", name])

    self_loop = [onnx_node("Relu", ["r"], ["r"], "relu_self")]
    bad_graph("onnx_self_cycle", "a Relu consuming its own output",
              onnx_model(onnx_graph(n_[:1] + self_loop + n_[2:], i_, a_, o_)))
    two_cycle = [onnx_node("Relu", ["q"], ["r"], "relu_a"), onnx_node("Relu", ["r"], ["q"], "relu_b")]
    bad_graph("onnx_two_cycle", "two Relus feeding each other", onnx_model(onnx_graph(n_[:1] + two_cycle + n_[2:], i_, a_, o_)))
    bad_graph("onnx_missing_input", "Conv reads 'ghost', which nothing defines",
              onnx_model(onnx_graph([onnx_node("Conv", ["ghost", "W1", "B1"], ["c"], "conv1",
                                               [onnx_attr_ints("kernel_shape", [3, 3])])] + n_[1:], i_, a_, o_)))
    bad_graph("onnx_missing_weight", "Conv reads weight 'W9', which is no initializer",
              onnx_model(onnx_graph([onnx_node("Conv", ["x", "W9", "B1"], ["c"], "conv1",
                                               [onnx_attr_ints("kernel_shape", [3, 3])])] + n_[1:], i_, a_, o_)))
    bad_graph("onnx_missing_output", "the graph output 'nothing' is never produced",
              onnx_model(onnx_graph(n_, i_, a_, [onnx_value_info("nothing", [1, 3])])))
    conv = lambda attrs, w="W1": [onnx_node("Conv", ["x", w, "B1"], ["c"], "conv1", attrs)] + n_[1:]
    bad_graph("onnx_stride_zero", "Conv strides 0,0",
              onnx_model(onnx_graph(conv([onnx_attr_ints("kernel_shape", [3, 3]), onnx_attr_ints("strides", [0, 0])]), i_, a_, o_)))
    bad_graph("onnx_stride_negative", "Conv strides -1,-1",
              onnx_model(onnx_graph(conv([onnx_attr_ints("kernel_shape", [3, 3]), onnx_attr_ints("strides", [-1, -1])]), i_, a_, o_)))
    bad_graph("onnx_pads_negative_huge", "Conv pads -1000",
              onnx_model(onnx_graph(conv([onnx_attr_ints("kernel_shape", [3, 3]), onnx_attr_ints("pads", [-1000] * 4)]), i_, a_, o_)))
    big_w = onnx_tensor("W1", np.zeros((2, 1, 20, 20)))
    bad_graph("onnx_kernel_larger", "Conv kernel 20×20 on an 8×8 input",
              onnx_model(onnx_graph(conv([onnx_attr_ints("kernel_shape", [20, 20])]), [big_w] + i_[1:], a_, o_)))
    bad_graph("onnx_pool_stride_zero", "MaxPool strides 0,0",
              onnx_model(onnx_graph(n_[:2] + [onnx_node("MaxPool", ["r"], ["p"], "pool1",
                                                        [onnx_attr_ints("kernel_shape", [2, 2]), onnx_attr_ints("strides", [0, 0])])]
                                    + n_[3:], i_, a_, o_)))
    bad_graph("onnx_unknown_op", "an op named NotAnOp", onnx_model(onnx_graph(
        n_[:1] + [onnx_node("NotAnOp", ["c"], ["r"], "mystery")] + n_[2:], i_, a_, o_)))
    bad_graph("onnx_no_graph", "a ModelProto without a graph", f_varint(1, 7) + f_bytes(8, f_bytes(1, "") + f_varint(2, 13)))
    bad_graph("onnx_wrong_weight_shape", "Conv weight 2×1×3×3 against Gemm weight 3×18 swapped",
              onnx_model(onnx_graph([onnx_node("Conv", ["x", "W2", "B1"], ["c"], "conv1", [onnx_attr_ints("kernel_shape", [3, 3])])]
                                    + n_[1:], i_, a_, o_)))
    chain = 200000
    deep_nodes = [onnx_node("Relu", ["x" if k == 0 else f"t{k - 1}"], [f"t{k}"], f"n{k}") for k in range(chain)]
    bad_graph("onnx_deep_chain_missing", f"{chain} chained Relus whose output is never declared used, ending in a missing input",
              onnx_model(onnx_graph(deep_nodes + [onnx_node("Add", [f"t{chain - 1}", "ghost"], ["y"], "end")], [], a_,
                                    [onnx_value_info("y", [1, 1, 8, 8])])))


    # --- layer parameters past their ranges (Caffe) -------------------------------------------------------
    # Input 1×3×8×8 → conv1 (2×3×1×1, weights below) → the layer under test, reading conv1 (1×2×8×8) and data.
    base_cm = c.write("good_base3.caffemodel", caffemodel("base3", [
        caffe_layer("data", "Input"),
        caffe_layer("conv1", "Convolution", [caffe_blob(np.ones((2, 3, 1, 1))), caffe_blob(np.zeros(2))])]))

    def base3(layers, dims=(1, 3, 8, 8), num_output=2):
        d = " ".join(f"dim: {x}" for x in dims)
        return (f'name: "base3"\nlayer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {d} }} }} }}\n'
                f'layer {{ name: "conv1" type: "Convolution" bottom: "data" top: "conv1" '
                f'convolution_param {{ num_output: {num_output} kernel_size: 1 }} }}\n' + layers + "\n")

    c.case("ok_base3", "control", "the base3 Caffe net (Input 1×3×8×8 → 1×1 conv)", [base_cm],
           ["info", c.write("good_base3.prototxt", base3("")), base_cm], "ok")

    def bad_layer(cid, what, layer):
        name = c.write(cid + ".prototxt", base3(layer))
        c.case(cid, "bad_param", what, [name, base_cm], ["info", name, base_cm])

    L = lambda ty, bottoms, param="": ('layer { name: "t" type: "%s" %s top: "t" %s }'
                                       % (ty, " ".join(f'bottom: "{b}"' for b in bottoms), param))
    bad_layer("pt_concat_axis_7", "Concat axis 7 of 4-D blobs", L("Concat", ["conv1", "data"], "concat_param { axis: 7 }"))
    bad_layer("pt_concat_axis_neg", "Concat axis -9 of 4-D blobs", L("Concat", ["conv1", "data"], "concat_param { axis: -9 }"))
    bad_layer("pt_concat_mismatch", "Concat on axis 2 of 1×2×8×8 and 1×3×8×8", L("Concat", ["conv1", "data"], "concat_param { axis: 2 }"))
    bad_layer("pt_eltwise_mismatch", "Eltwise SUM of 1×2×8×8 and 1×3×8×8", L("Eltwise", ["conv1", "data"]))
    bad_layer("pt_eltwise_coeff_count", "Eltwise with 3 coefficients for 2 inputs",
              L("Eltwise", ["conv1", "conv1"], "eltwise_param { operation: SUM coeff: 1 coeff: 2 coeff: 3 }"))
    bad_layer("pt_reshape_two_infer", "Reshape with two -1 dims", L("Reshape", ["conv1"], "reshape_param { shape { dim: -1 dim: -1 } }"))
    bad_layer("pt_reshape_wrong_count", "Reshape 1×2×8×8 (128) to 5×5", L("Reshape", ["conv1"], "reshape_param { shape { dim: 5 dim: 5 } }"))
    bad_layer("pt_reshape_copy_past_rank", "Reshape copying dim 0 six times from a 4-D blob",
              L("Reshape", ["conv1"], "reshape_param { shape { dim: 0 dim: 0 dim: 0 dim: 0 dim: 0 dim: 0 } }"))
    bad_layer("pt_reshape_1e12", "Reshape to 10^6×10^6", L("Reshape", ["conv1"], "reshape_param { shape { dim: 1000000 dim: 1000000 } }"))
    bad_layer("pt_reshape_negative", "Reshape with dim -5", L("Reshape", ["conv1"], "reshape_param { shape { dim: -5 dim: 2 } }"))
    bad_layer("pt_flatten_axis_9", "Flatten axis 9", L("Flatten", ["conv1"], "flatten_param { axis: 9 }"))
    bad_layer("pt_flatten_end_before_axis", "Flatten axis 3 end_axis 1", L("Flatten", ["conv1"], "flatten_param { axis: 3 end_axis: 1 }"))
    bad_layer("pt_slice_point_past", "Slice at point 100 of a 2-channel blob",
              'layer { name: "t" type: "Slice" bottom: "conv1" top: "t1" top: "t2" slice_param { axis: 1 slice_point: 100 } }')
    bad_layer("pt_slice_points_unordered", "Slice points 2, 1 (descending) on 3 channels",
              'layer { name: "t" type: "Slice" bottom: "data" top: "t1" top: "t2" top: "t3" slice_param { axis: 1 slice_point: 2 slice_point: 1 } }')
    bad_layer("pt_slice_axis_9", "Slice axis 9",
              'layer { name: "t" type: "Slice" bottom: "conv1" top: "t1" top: "t2" slice_param { axis: 9 } }')
    bad_layer("pt_softmax_axis_10", "Softmax axis 10", L("Softmax", ["conv1"], "softmax_param { axis: 10 }"))
    bad_layer("pt_lrn_size_0", "LRN local_size 0", L("LRN", ["conv1"], "lrn_param { local_size: 0 }"))
    bad_layer("pt_lrn_size_even", "LRN local_size 4 (Caffe requires an odd size)", L("LRN", ["conv1"], "lrn_param { local_size: 4 }"))
    bad_layer("pt_pool_pad_ge_kernel", "Pooling pad 5 with kernel 2", L("Pooling", ["conv1"], "pooling_param { pool: MAX kernel_size: 2 pad: 5 }"))
    bad_layer("pt_unknown_type", "a layer of type NotALayer", L("NotALayer", ["conv1"]))
    bad_layer("pt_scale_without_blobs", "a Scale layer whose weights are not in the file", L("Scale", ["conv1"]))
    bad_layer("pt_batchnorm_without_blobs", "a BatchNorm layer whose statistics are not in the file", L("BatchNorm", ["conv1"]))
    bad_layer("pt_no_bottom", "a ReLU with no bottom", 'layer { name: "t" type: "ReLU" top: "t" }')
    bad_layer("pt_duplicate_top", "two layers writing a new blob 't' of different shapes, then a layer reading data as t",
              L("ReLU", ["conv1"]) + "\n" + L("Concat", ["t", "data"], "concat_param { axis: 1 }").replace('name: "t"', 'name: "t2"') + "\n"
              + 'layer { name: "t3" type: "Eltwise" bottom: "t" bottom: "conv1" top: "t" }')
    # Activation bytes and MACs past 2^64: a consistent net the summary must count without overflowing.
    big = c.write("pt_activation_overflow.prototxt", base3("", dims=(1, 3, 2147483647, 2147483647)))
    c.case("pt_activation_overflow", "resource", "Input 1×3×(2^31-1)×(2^31-1) through a 1×1 conv (activation bytes > 2^64)",
           [big, base_cm], ["info", big, base_cm])
    big = c.write("pt_forward_huge_input.prototxt", base3("", dims=(1, 3, 100000, 100000)))
    c.case("pt_forward_huge_input", "resource", "forward of an image resized to a 1×3×10^5×10^5 input (120 GB of floats)",
           [big, base_cm, png], ["forward", big, base_cm, "--image", png])

    # --- node attributes past their ranges (ONNX) ---------------------------------------------------------
    # x 1×3×8×8 → Conv 1×1 (W 2×3×1×1) → c 1×2×8×8 → the node under test → y.
    def onnx_attr_float(name, v):
        return f_bytes(1, name) + f_float(2, v) + f_varint(20, 1)

    def i64(name, vals):
        return onnx_tensor(name, dims=[len(vals)], raw=np.asarray(vals, dtype="<i8").tobytes(), data_type=7)

    def f32(name, vals):
        return onnx_tensor(name, np.asarray(vals, dtype="<f4"))

    def onnx3(nodes, extra_inits=(), x_dims=(1, 3, 8, 8)):
        inits = [onnx_tensor("CW", np.ones((2, 3, 1, 1))), onnx_tensor("CB", np.zeros(2))] + list(extra_inits)
        head = [onnx_node("Conv", ["x", "CW", "CB"], ["c"], "conv1", [onnx_attr_ints("kernel_shape", [1, 1])])]
        return onnx_model(onnx_graph(head + nodes, inits, [onnx_value_info("x", list(x_dims))], [onnx_value_info("y", [1])]))

    c.case("ok_base3_onnx", "control", "the base3 ONNX net (x 1×3×8×8 → 1×1 conv → Relu)", [],
           ["info", c.write("good_base3.onnx", onnx3([onnx_node("Relu", ["c"], ["y"], "t")]))], "ok")
    c.cases[-1]["files"] = ["good_base3.onnx"]

    def bad_node(cid, what, nodes, inits=()):
        name = c.write(cid + ".onnx", onnx3(nodes, inits))
        c.case(cid, "bad_param", what, [name], ["info", name])

    N = lambda op, ins, attrs=(): [onnx_node(op, ins, ["y"], "t", list(attrs))]
    bad_node("onnx_concat_axis_100", "Concat axis 100", N("Concat", ["c", "x"], [onnx_attr_int("axis", 100)]))
    bad_node("onnx_concat_axis_neg", "Concat axis -100", N("Concat", ["c", "x"], [onnx_attr_int("axis", -100)]))
    bad_node("onnx_concat_mismatch", "Concat axis 2 of 1×2×8×8 and 1×3×8×8", N("Concat", ["c", "x"], [onnx_attr_int("axis", 2)]))
    bad_node("onnx_flatten_axis_100", "Flatten axis 100", N("Flatten", ["c"], [onnx_attr_int("axis", 100)]))
    bad_node("onnx_transpose_dup", "Transpose perm 0,0,1,1", N("Transpose", ["c"], [onnx_attr_ints("perm", [0, 0, 1, 1])]))
    bad_node("onnx_transpose_range", "Transpose perm 0,1,2,9", N("Transpose", ["c"], [onnx_attr_ints("perm", [0, 1, 2, 9])]))
    bad_node("onnx_transpose_short", "Transpose perm of 2 axes for a 4-D tensor", N("Transpose", ["c"], [onnx_attr_ints("perm", [1, 0])]))
    bad_node("onnx_reshape_two_infer", "Reshape to -1,-1", N("Reshape", ["c", "S"]), [i64("S", [-1, -1])])
    bad_node("onnx_reshape_wrong_count", "Reshape 128 values to 5×5", N("Reshape", ["c", "S"]), [i64("S", [5, 5])])
    bad_node("onnx_reshape_1e12", "Reshape to 10^6×10^6", N("Reshape", ["c", "S"]), [i64("S", [10 ** 6, 10 ** 6])])
    bad_node("onnx_reshape_zero_past_rank", "Reshape copying dim 0 at six positions", N("Reshape", ["c", "S"]), [i64("S", [0] * 6)])
    bad_node("onnx_reshape_neg", "Reshape to -5×2", N("Reshape", ["c", "S"]), [i64("S", [-5, 2])])
    bad_node("onnx_reshape_missing_shape", "Reshape whose shape input nothing defines", N("Reshape", ["c", "nothing"]))
    bad_node("onnx_softmax_axis_100", "Softmax axis 100", N("Softmax", ["c"], [onnx_attr_int("axis", 100)]))
    bad_node("onnx_pad_huge", "Pad by 10^9 on each side of H and W",
             N("Pad", ["c", "P"]), [i64("P", [0, 0, 10 ** 9, 10 ** 9, 0, 0, 10 ** 9, 10 ** 9])])
    bad_node("onnx_pad_negative", "Pad by -100 on each side of H and W",
             N("Pad", ["c", "P"]), [i64("P", [0, 0, -100, -100, 0, 0, -100, -100])])
    bad_node("onnx_pad_wrong_len", "Pad with 3 pad values for a 4-D tensor", N("Pad", ["c", "P"]), [i64("P", [1, 1, 1])])
    bad_node("onnx_resize_scale_1e6", "Resize by 10^6 in H and W", N("Resize", ["c", "", "R"]), [f32("R", [1, 1, 1e6, 1e6])])
    bad_node("onnx_resize_scale_zero", "Resize by 0", N("Resize", ["c", "", "R"]), [f32("R", [1, 1, 0, 0])])
    bad_node("onnx_resize_scale_nan", "Resize by NaN", N("Resize", ["c", "", "R"]), [f32("R", [1, 1, float("nan"), float("nan")])])
    bad_node("onnx_resize_scale_neg", "Resize by -2", N("Resize", ["c", "", "R"]), [f32("R", [1, 1, -2, -2])])
    bad_node("onnx_add_mismatch", "Add of 1×2×8×8 and 1×3×8×8", N("Add", ["c", "x"]))
    bad_node("onnx_matmul_mismatch", "MatMul of 1×2×8×8 by 5×5", N("MatMul", ["c", "M"]), [onnx_tensor("M", np.ones((5, 5)))])
    bad_node("onnx_batchnorm_wrong_size", "BatchNormalization with 5 statistics for 2 channels",
             N("BatchNormalization", ["c", "s", "b", "m", "v"]), [f32(k, np.ones(5)) for k in "sbmv"])
    bad_node("onnx_lrn_size_0", "LRN size 0", N("LRN", ["c"], [onnx_attr_int("size", 0)]))
    bad_node("onnx_conv_group_0", "Conv group 0",
             N("Conv", ["c", "W"], [onnx_attr_int("group", 0)]), [onnx_tensor("W", np.ones((2, 2, 1, 1)))])
    bad_node("onnx_conv_group_mismatch", "Conv group 3 on 2 channels",
             N("Conv", ["c", "W"], [onnx_attr_int("group", 3)]), [onnx_tensor("W", np.ones((3, 1, 1, 1)))])
    bad_node("onnx_conv_channel_mismatch", "Conv weights for 5 input channels on 2",
             N("Conv", ["c", "W"]), [onnx_tensor("W", np.ones((2, 5, 1, 1)))])
    bad_node("onnx_conv_bias_size", "Conv bias of 7 values for 2 outputs",
             N("Conv", ["c", "W", "B"]), [onnx_tensor("W", np.ones((2, 2, 1, 1))), f32("B", np.ones(7))])
    bad_node("onnx_gemm_mismatch", "Gemm of 1×128 by 5×5",
             [onnx_node("Flatten", ["c"], ["f"], "flat"), onnx_node("Gemm", ["f", "G"], ["y"], "t")], [onnx_tensor("G", np.ones((5, 5)))])
    bad_node("onnx_no_inputs_op", "a Relu node with no inputs", N("Relu", []))
    big = c.write("onnx_activation_overflow.onnx", onnx3([onnx_node("Relu", ["c"], ["y"], "t")], x_dims=(1, 3, 2 ** 31, 2 ** 31)))
    c.case("onnx_activation_overflow", "resource", "x 1×3×2^31×2^31 through a 1×1 conv (activation bytes > 2^64)", [big], ["info", big])
    big = c.write("onnx_forward_huge_input.onnx", onnx3([onnx_node("Relu", ["c"], ["y"], "t")], x_dims=(1, 3, 100000, 100000)))
    c.case("onnx_forward_huge_input", "resource", "forward of an image resized to a 1×3×10^5×10^5 input", [big, png],
           ["forward", big, "--image", png])
    big = c.write("onnx_constant_1e12.onnx", onnx3([onnx_node("Constant", [], ["k"], "k", [
        f_bytes(1, "value") + f_bytes(5, onnx_tensor("kv", dims=[10 ** 6, 10 ** 6], raw=b"\0\0\0\0")) + f_varint(20, 4)]),
        onnx_node("Add", ["c", "k"], ["y"], "t")]))
    c.case("onnx_constant_1e12", "resource", "a Constant node whose tensor declares 10^12 floats with 4 bytes", [big], ["info", big])

    # --- swapped files ------------------------------------------------------------------------------------
    c.case("swap_conv_pt_lenet_w", "swapped", "conv fixture prototxt with LeNet's weights", [conv_pt, lenet_cm],
           ["info", conv_pt, lenet_cm])
    c.case("swap_lenet_pt_conv_w", "swapped", "LeNet prototxt with the conv fixture's weights", [lenet_pt, conv_cm],
           ["info", lenet_pt, conv_cm])
    c.case("swap_tiny_pt_lenet_w", "swapped", "tiny prototxt with LeNet's weights", [tiny_pt, lenet_cm], ["info", tiny_pt, lenet_cm])
    wrong_shape = c.write("swap_tiny_wrong_shapes.caffemodel", tiny_caffemodel(np.random.default_rng(SEED + 5), (4, 1, 5, 5), 18))
    c.case("swap_tiny_wrong_shapes", "swapped", "tiny prototxt with weights of the wrong shapes (conv1 4×1×5×5)",
           [tiny_pt, wrong_shape], ["info", tiny_pt, wrong_shape])
    c.case("swap_onnx_plus_weights", "swapped", "an ONNX model given with Caffe weights", [tiny_ox, tiny_cm],
           ["info", tiny_ox, tiny_cm])
    c.case("three_files", "swapped", "three model files", [tiny_pt, tiny_cm, tiny_ox], ["info", tiny_pt, tiny_cm, tiny_ox])
    c.case("missing_file", "swapped", "a path that does not exist", [], ["info", "does_not_exist.onnx"])
    c.case("directory_as_model", "swapped", "a directory given as the model", [], ["info", "."])

    manifest = {"version": 1, "seed": SEED, "cases": c.cases}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    n_bad = sum(1 for k in c.cases if k["expect"] != "ok")
    print(f"{out}: {len(c.cases)} cases ({n_bad} broken, {len(c.cases) - n_bad} controls)")


if __name__ == "__main__":
    main()
