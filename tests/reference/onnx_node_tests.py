#!/usr/bin/env python3
"""ONNX's own node test suite for every operator zfvis maps, plus older-opset forms checked against onnxruntime.

Writes two folders under crates/core/tests/data/, one sub-folder per case with model.onnx, input_<k>.npy and
output_<k>.npy (k in the graph's input and output order, in the tensors' own dtypes), and a manifest.json:

- onnx_node/: every case of onnx.backend.test.case.node.collect_testcases() whose nodes all use operators
  zfvis maps (SUPPORTED below, the same list as formats::onnx::SUPPORTED). Expected outputs are ONNX's own
  (numpy reference implementations); tolerances are the case's rtol/atol. Cases whose values are not tensors
  (sequences, optionals) cannot be stored as .npy: the manifest lists them under "skipped" with the reason.
- onnx_opsets/: what the node suite cannot show, since its models use each operator's newest opset: the
  attribute forms of older opsets (Unsqueeze/Squeeze axes, Pad pads and value, Clip min/max, Upsample,
  Resize 10/11/13),
  Softmax before opset 13, BatchNormalization 7/9, Gemm variants, Constant's value_* attributes, Dropout's
  mask at inference, constant operands on either side, a small CNN whose initializers are also listed as graph
  inputs with a dynamic batch dimension, and weights shared by two nodes. Expected outputs come from
  onnxruntime (CPU). Under "refused", models the reader must refuse, with words its error must contain.

The Rust test crates/core/tests/onnx_node.rs runs zfvis over both folders.

Needs (PyPI): numpy, onnx (1.23.2 here: the generators, not the generated data, are in the wheel), onnxruntime.

    python3 tests/reference/onnx_node_tests.py            # regenerate the data
    python3 tests/reference/onnx_node_tests.py --check    # regenerate in memory, compare with the stored files

The output is deterministic: ONNX's generators seed numpy themselves, the extra cases use
numpy.random.default_rng with a fixed seed per case.
"""

import argparse
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refdata import ROOT  # noqa: E402

DATA = ROOT / "crates" / "core" / "tests" / "data"
NODE_OUT = DATA / "onnx_node"
OPSETS_OUT = DATA / "onnx_opsets"

SUPPORTED = {
    "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Relu", "LeakyRelu", "PRelu",
    "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "LRN", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div",
    "BatchNormalization", "Flatten", "Reshape", "Transpose", "Concat", "Dropout", "Softmax", "Constant",
    "Identity", "Squeeze", "Unsqueeze", "Pad", "Resize", "Upsample",
}


def write_case(folder: Path, model_bytes: bytes, inputs, outputs):
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(model_bytes)
    for k, a in enumerate(inputs):
        np.save(folder / f"input_{k}.npy", np.asarray(a, order="C"))
    for k, a in enumerate(outputs):
        np.save(folder / f"output_{k}.npy", np.asarray(a, order="C"))


# ---------------------------------------------------------------------------------------------------------
# ONNX's node test suite
# ---------------------------------------------------------------------------------------------------------


# Cases whose semantics zfvis leaves out and whose data would be large: only the model is stored, and the Rust
# test checks that the reader refuses it with a clear message.
MODEL_ONLY = {
    name: "3-D pooling (zfvis pools 2-D maps)"
    for name in [
        "test_averagepool_3d_default", "test_maxpool_3d_default", "test_maxpool_3d_dilations_use_ref_impl_large",
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
    ]
}


def node_suite(out: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        cases = collect_testcases(None)
    manifest = {"onnx": onnx.__version__, "cases": {}, "skipped": {}, "model_only": {}}
    for c in sorted(cases, key=lambda c: c.name):
        ops = sorted({n.op_type for n in c.model.graph.node})
        if not ops or not set(ops) <= SUPPORTED:
            continue
        inputs, outputs = c.data_sets[0]
        if any(not isinstance(a, (np.ndarray, np.generic)) for a in list(inputs) + list(outputs)):
            manifest["skipped"][c.name] = {"ops": ops, "reason": "sequence or optional values, not tensors"}
            continue
        assert len(c.data_sets) == 1, c.name
        if c.name in MODEL_ONLY:
            manifest["model_only"][c.name] = {"ops": ops, "reason": MODEL_ONLY[c.name]}
            (out / c.name).mkdir()
            (out / c.name / "model.onnx").write_bytes(c.model.SerializeToString())
            continue
        opset = max(o.version for o in c.model.opset_import if o.domain in ("", "ai.onnx"))
        manifest["cases"][c.name] = {"ops": ops, "opset": opset, "rtol": c.rtol, "atol": c.atol}
        write_case(out / c.name, c.model.SerializeToString(), inputs, outputs)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------------------
# Older opset forms and loader features, against onnxruntime
# ---------------------------------------------------------------------------------------------------------

EXTRA = []


def extra(name, opset, nodes, feeds, consts=None, outputs=("y",), init_as_inputs=False, dynamic_batch=False,
          note=""):
    """A one-graph case: feeds are the runtime inputs (name -> array), consts the initializers."""
    EXTRA.append(dict(name=name, opset=opset, nodes=nodes, feeds=feeds, consts=consts or {}, outputs=outputs,
                      init_as_inputs=init_as_inputs, dynamic_batch=dynamic_batch, note=note))


REFUSED = []


def refused(name, opset, nodes, feeds, consts, expect):
    """A model the reader must refuse; its error must contain every string in expect."""
    REFUSED.append(dict(name=name, opset=opset, nodes=nodes, feeds=feeds, consts=consts, expect=expect,
                        outputs=("y",), init_as_inputs=False, dynamic_batch=False))


def rand(seed, *shape, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def ints(values):
    return np.asarray(values, dtype=np.int64)


def f32(values):
    return np.asarray(values, dtype=np.float32)


N = helper.make_node

# Convolution: groups, dilations, strides, SAME_LOWER; the same weights read by two nodes.
extra("conv_group_dilation", 11,
      [N("Conv", ["x", "w", "b"], ["y"], group=2, dilations=[2, 1], strides=[2, 1], pads=[2, 1, 1, 0],
         kernel_shape=[3, 2])],
      {"x": rand(1, 1, 4, 9, 8)}, {"w": rand(2, 6, 2, 3, 2), "b": rand(3, 6)})
extra("conv_same_lower_strides", 11,
      [N("Conv", ["x", "w"], ["y"], strides=[2, 3], auto_pad="SAME_LOWER")],
      {"x": rand(5, 1, 2, 9, 8)}, {"w": rand(6, 3, 2, 4, 3)})
extra("conv_shared_weights_asymmetric_pads", 11,
      [N("Conv", ["x", "w", "b"], ["h"], pads=[1, 0, 2, 1]), N("Relu", ["h"], ["r"]),
       N("Conv", ["r", "w"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2])],
      {"x": rand(4, 1, 4, 7, 6)}, {"w": rand(5, 4, 4, 3, 3, scale=0.3), "b": rand(6, 4)},
      note="w is read by both convolutions: copied for the first, moved into the second")
# A small CNN in the opset-7 style: initializers also listed as graph inputs, a symbolic batch dimension.
extra("cnn_opset7_initializers_as_inputs", 7,
      [N("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
       N("BatchNormalization", ["c1", "s", "bias", "mean", "var"], ["bn"], epsilon=1e-3),
       N("Relu", ["bn"], ["r1"]),
       N("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
       N("Flatten", ["p1"], ["f"], axis=1),
       N("Gemm", ["f", "w2", "b2"], ["g"], transB=1),
       N("Softmax", ["g"], ["y"], axis=1)],
      {"x": rand(7, 2, 3, 8, 8)},
      {"w1": rand(8, 4, 3, 3, 3, scale=0.4), "b1": rand(9, 4), "s": rand(10, 4), "bias": rand(11, 4),
       "mean": rand(12, 4), "var": np.abs(rand(13, 4)) + 0.5, "w2": rand(14, 5, 64, scale=0.2), "b2": rand(15, 5)},
      init_as_inputs=True, dynamic_batch=True, note="batch declared as 'N', run at 2")
# Pooling.
extra("maxpool_opset8_ceil_pads", 8,
      [N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 0])],
      {"x": rand(20, 1, 2, 8, 7)})
extra("maxpool_opset10_ceil_dilations", 10,
      [N("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[2, 2], dilations=[2, 1], ceil_mode=1)],
      {"x": rand(21, 1, 2, 9, 8)})
extra("maxpool_opset12_indices", 12,
      [N("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
      {"x": rand(22, 2, 3, 7, 6)}, outputs=("y", "i"))
extra("averagepool_opset7_count_include_pad", 7,
      [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 1, 1, 0],
         count_include_pad=1)],
      {"x": rand(23, 1, 2, 7, 6)})
extra("averagepool_opset10_ceil_exclude_pad", 10,
      [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)],
      {"x": rand(24, 1, 2, 8, 8)})
extra("averagepool_opset19_dilations_ceil_include_pad", 19,
      [N("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
         dilations=[2, 2], count_include_pad=1)],
      {"x": rand(25, 1, 2, 9, 8)})
# Activations.
extra("clip_opset7_attributes", 7, [N("Clip", ["x"], ["y"], min=-0.5, max=0.8)], {"x": rand(30, 2, 3, 4)})
extra("clip_opset11_max_only", 11, [N("Clip", ["x", "", "hi"], ["y"])], {"x": rand(31, 2, 3, 4)},
      {"hi": f32(0.3)})
extra("prelu_opset7_per_channel", 7, [N("PRelu", ["x", "slope"], ["y"])], {"x": rand(32, 2, 3, 4, 5)},
      {"slope": rand(33, 3, 1, 1)})
extra("prelu_opset9_shared", 9, [N("PRelu", ["x", "slope"], ["y"])], {"x": rand(34, 2, 3, 4, 5)},
      {"slope": f32([0.25])})
extra("hardswish_opset14", 14, [N("HardSwish", ["x"], ["y"])], {"x": rand(35, 2, 3, 4, scale=4)})
# Normalization and dense layers.
extra("batchnorm_opset9", 9,
      [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-2)], {"x": rand(40, 2, 3, 4, 5)},
      {"s": rand(41, 3), "b": rand(42, 3), "m": rand(43, 3), "v": np.abs(rand(44, 3)) + 0.1})
extra("batchnorm_opset7_2d", 7,
      [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], {"x": rand(45, 4, 6)},
      {"s": rand(46, 6), "b": rand(47, 6), "m": rand(48, 6), "v": np.abs(rand(49, 6)) + 0.1})
extra("gemm_opset7_matrix_c", 7, [N("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=2.0)],
      {"a": rand(50, 3, 5)}, {"b": rand(51, 5, 4), "c": rand(52, 3, 4)})
extra("gemm_opset11_transa_no_c", 11, [N("Gemm", ["a", "b"], ["y"], transA=1, transB=1, alpha=1.5)],
      {"a": rand(53, 5, 3)}, {"b": rand(54, 4, 5)})
extra("gemm_opset13_scalar_c", 13, [N("Gemm", ["a", "b", "c"], ["y"], beta=0.5)],
      {"a": rand(55, 2, 6)}, {"b": rand(56, 6, 3), "c": f32(1.5)})
extra("matmul_constant_right_3d", 13, [N("MatMul", ["x", "w"], ["y"])], {"x": rand(57, 2, 3, 4)},
      {"w": rand(58, 4, 5)})
extra("matmul_constant_left", 13, [N("MatMul", ["w", "x"], ["y"])], {"x": rand(59, 2, 4, 3)},
      {"w": rand(60, 5, 4)})
extra("matmul_constant_batched_right", 13, [N("MatMul", ["x", "w"], ["y"])], {"x": rand(61, 1, 3, 4)},
      {"w": rand(62, 2, 4, 5)})
extra("sub_constant_left", 13, [N("Sub", ["c", "x"], ["y"])], {"x": rand(63, 2, 3, 4)}, {"c": rand(64, 3, 1)})
extra("div_constant_right", 13, [N("Div", ["x", "c"], ["y"])], {"x": rand(65, 2, 3, 4)},
      {"c": np.abs(rand(66, 4)) + 0.5})
# Softmax before opset 13 flattens from its axis.
extra("softmax_opset11_4d_axis1", 11, [N("Softmax", ["x"], ["y"], axis=1)], {"x": rand(70, 2, 3, 4, 5)})
extra("softmax_opset11_default_axis_3d", 11, [N("Softmax", ["x"], ["y"])], {"x": rand(71, 2, 3, 4)})
# Shapes.
extra("unsqueeze_opset11_attribute", 11, [N("Unsqueeze", ["x"], ["y"], axes=[0, 3])], {"x": rand(80, 3, 4, 5)})
extra("squeeze_opset11_attribute", 11, [N("Squeeze", ["x"], ["y"], axes=[1, -1])], {"x": rand(81, 3, 1, 5, 1)})
extra("squeeze_opset13_no_axes", 13, [N("Squeeze", ["x"], ["y"])], {"x": rand(82, 1, 4, 1, 5)})
extra("reshape_opset7_zero_and_minus_one", 7, [N("Reshape", ["x", "s"], ["y"])], {"x": rand(83, 2, 3, 4, 5)},
      {"s": ints([0, -1, 5])})
extra("flatten_opset9_axis3", 9, [N("Flatten", ["x"], ["y"], axis=3)], {"x": rand(84, 2, 3, 4, 5)})
extra("transpose_opset7_nchw_to_nhwc", 7, [N("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])],
      {"x": rand(85, 2, 3, 4, 5)})
extra("constant_value_floats_opset12", 12,
      [N("Constant", [], ["c"], value_floats=[0.5, -1.0, 2.0, 3.0]), N("Mul", ["x", "c"], ["y"])],
      {"x": rand(86, 2, 3, 4)})
extra("constant_value_float_opset12", 12,
      [N("Constant", [], ["c"], value_float=-0.75), N("Add", ["x", "c"], ["y"])], {"x": rand(87, 2, 3)})
extra("constant_value_ints_opset12", 12,
      [N("Constant", [], ["s"], value_ints=[2, -1]), N("Reshape", ["x", "s"], ["y"])], {"x": rand(88, 2, 3, 4)})
extra("constant_value_int_opset12", 12,
      [N("Constant", [], ["k"], value_int=6), N("Unsqueeze", ["k"], ["k1"], axes=[0]),
       N("Constant", [], ["m"], value_ints=[-1]), N("Concat", ["m", "k1"], ["s"], axis=0),
       N("Reshape", ["x", "s"], ["y"])], {"x": rand(89, 2, 3, 4)},
      note="the shape is folded from constants at load time")
extra("dropout_opset7_ratio", 7, [N("Dropout", ["x"], ["y"], ratio=0.3)], {"x": rand(90, 2, 3, 4)})
extra("dropout_opset12_mask_inference", 12, [N("Dropout", ["x"], ["y", "mask"])], {"x": rand(91, 2, 3, 4)},
      outputs=("y", "mask"))
extra("dropout_opset13_training_false", 13, [N("Dropout", ["x", "r", "t"], ["y"])], {"x": rand(92, 2, 3, 4)},
      {"r": f32(0.5), "t": np.asarray(False)})
# Pad.
extra("pad_opset7_reflect_attribute", 7, [N("Pad", ["x"], ["y"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1])],
      {"x": rand(100, 1, 2, 4, 5)})
extra("pad_opset7_constant_value_attribute", 7, [N("Pad", ["x"], ["y"], pads=[0, 1, 1, 0, 0, 0, 2, 3], value=1.5)],
      {"x": rand(101, 1, 2, 3, 4)})
extra("pad_opset11_edge", 11, [N("Pad", ["x", "p"], ["y"], mode="edge")], {"x": rand(102, 1, 2, 3, 4)},
      {"p": ints([0, 0, 2, 1, 0, 0, 1, 3])})
extra("pad_opset11_constant_input_negative", 11, [N("Pad", ["x", "p", "v"], ["y"])], {"x": rand(103, 1, 2, 5, 6)},
      {"p": ints([0, 0, -1, 2, 0, 0, 1, -2]), "v": f32(-0.5)}, note="negative pads crop")
# Upsample (opsets 7 and 9) and Resize 10, 11 and 13.
extra("upsample_opset7_nearest", 7, [N("Upsample", ["x"], ["y"], mode="nearest", scales=[1.0, 1.0, 2.0, 3.0])],
      {"x": rand(110, 1, 2, 3, 4)})
extra("upsample_opset7_linear", 7, [N("Upsample", ["x"], ["y"], mode="linear", scales=[1.0, 1.0, 2.0, 1.5])],
      {"x": rand(111, 1, 2, 3, 4)})
extra("upsample_opset9_nearest", 9, [N("Upsample", ["x", "s"], ["y"], mode="nearest")],
      {"x": rand(112, 1, 2, 3, 4)}, {"s": f32([1, 1, 3, 2])})
extra("upsample_opset9_linear", 9, [N("Upsample", ["x", "s"], ["y"], mode="linear")],
      {"x": rand(113, 1, 2, 3, 4)}, {"s": f32([1, 1, 2, 2.5])})
extra("resize_opset10_nearest_down", 10, [N("Resize", ["x", "s"], ["y"], mode="nearest")],
      {"x": rand(114, 1, 2, 7, 9)}, {"s": f32([1, 1, 0.5, 0.7])})
extra("resize_opset10_nearest_up", 10, [N("Resize", ["x", "s"], ["y"], mode="nearest")],
      {"x": rand(115, 1, 2, 3, 4)}, {"s": f32([1, 1, 2.5, 3])})
extra("resize_opset10_linear", 10, [N("Resize", ["x", "s"], ["y"], mode="linear")],
      {"x": rand(116, 1, 2, 3, 4)}, {"s": f32([1, 1, 2, 1.5])})
for mode, ct, nm, sc in [
    ("linear", "pytorch_half_pixel", None, [1, 1, 0.5, 1.75]),
    # Whole output lengths: for align_corners with a fractional scale·length, ONNX's reference divides by the
    # fractional length and onnxruntime by the rounded one (zfvis follows ONNX's node tests).
    ("linear", "align_corners", None, [1, 1, 2.0, 0.5]),
    ("linear", "asymmetric", None, [1, 1, 1.5, 2.0]),
    ("linear", "half_pixel", None, [1, 1, 0.6, 2.5]),
    ("nearest", "tf_half_pixel_for_nn", "round_prefer_floor", [1, 1, 1.7, 0.6]),
    ("nearest", "asymmetric", "round_prefer_ceil", [1, 1, 2.5, 1.5]),
    ("nearest", "half_pixel", "floor", [1, 1, 0.7, 3.0]),
    ("nearest", "align_corners", "ceil", [1, 1, 1.5, 0.5]),
    ("cubic", "half_pixel", None, [1, 1, 1.6, 0.8]),
]:
    attrs = dict(mode=mode, coordinate_transformation_mode=ct)
    if nm:
        attrs["nearest_mode"] = nm
    extra(f"resize_opset11_{mode}_{ct}", 11, [N("Resize", ["x", "roi", "s"], ["y"], **attrs)],
          {"x": rand(117, 1, 2, 5, 6)}, {"roi": f32([]), "s": f32(sc)})
extra("resize_opset11_sizes_linear", 11, [N("Resize", ["x", "roi", "s", "z"], ["y"], mode="linear")],
      {"x": rand(118, 1, 2, 5, 6)}, {"roi": f32([]), "s": f32([]), "z": ints([1, 2, 8, 4])},
      note="opset 11 requires the scales input: empty when sizes are given")
extra("resize_opset11_tf_crop_and_resize", 11,
      [N("Resize", ["x", "roi", "s", "z"], ["y"], mode="linear", coordinate_transformation_mode="tf_crop_and_resize",
         extrapolation_value=-1.0)],
      {"x": rand(119, 1, 2, 5, 6)},
      {"roi": f32([0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]), "s": f32([]), "z": ints([1, 2, 4, 5])})
extra("resize_opset13_scales_only", 13, [N("Resize", ["x", "", "s"], ["y"], mode="linear")],
      {"x": rand(120, 1, 2, 4, 4)}, {"s": f32([1, 1, 0.75, 1.25])})
extra("resize_opset18_antialias_linear", 18,
      [N("Resize", ["x", "", "s"], ["y"], mode="linear", antialias=1)],
      {"x": rand(121, 1, 2, 9, 8)}, {"s": f32([1, 1, 0.4, 0.6])})

# Refused, with a clear message.
refused("refuse_batchnorm_training", 15,
        [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"], name="bn1", training_mode=1)],
        {"x": rand(130, 2, 3, 4)}, {"s": rand(131, 3), "b": rand(132, 3), "m": rand(133, 3), "v": f32([1, 1, 1])},
        ["bn1", "training_mode", "1"])
refused("refuse_pad_mode", 11, [N("Pad", ["x", "p"], ["y"], name="pad1", mode="mirror")],
        {"x": rand(134, 1, 1, 3, 3)}, {"p": ints([0, 0, 1, 1, 0, 0, 1, 1])}, ["pad1", "mode", "mirror"])
refused("refuse_conv_auto_pad", 11, [N("Conv", ["x", "w"], ["y"], name="conv1", auto_pad="SAME")],
        {"x": rand(135, 1, 1, 3, 3)}, {"w": rand(136, 1, 1, 3, 3)}, ["conv1", "auto_pad", "SAME"])
refused("refuse_resize_mode", 13, [N("Resize", ["x", "", "s"], ["y"], name="up", mode="area")],
        {"x": rand(137, 1, 1, 3, 3)}, {"s": f32([1, 1, 2, 2])}, ["up", "mode", "area"])
refused("refuse_unsupported_ops", 13,
        [N("Relu", ["x"], ["a"]), N("Erf", ["a"], ["e"], name="erf1"), N("Gelu", ["e"], ["y"], name="gelu1")],
        {"x": rand(138, 1, 2)}, {}, ["Erf (node 'erf1')", "Gelu (node 'gelu1')"])


# Output element types other than float, by output name.
OUTPUT_TYPES = {"i": TensorProto.INT64, "mask": TensorProto.BOOL}


def build(case, results=None) -> onnx.ModelProto:
    """The case's model; with results, the outputs declare their types and shapes."""
    def info(name, a, batch_param=False):
        a = np.asarray(a)
        shape = list(a.shape)
        if batch_param and shape:
            shape[0] = "N"
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), shape)

    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in case["consts"].items()]
    inputs = [info(n, a, case["dynamic_batch"]) for n, a in case["feeds"].items()]
    if case["init_as_inputs"]:
        inputs += [info(n, a) for n, a in case["consts"].items()]
    if results is None:
        outputs = [helper.make_tensor_value_info(o, OUTPUT_TYPES.get(o, TensorProto.FLOAT), None)
                   for o in case["outputs"]]
    else:
        outputs = [info(o, a, case["dynamic_batch"]) for o, a in zip(case["outputs"], results)]
    graph = helper.make_graph(case["nodes"], case["name"], inputs, outputs, inits)
    opset = helper.make_opsetid("", case["opset"])
    # IR 3 requires initializers to be graph inputs too; IR 4 allows either.
    ir = max(3 if case["init_as_inputs"] else 4, helper.find_min_ir_version_for([opset]))
    return helper.make_model(graph, opset_imports=[opset], ir_version=ir, producer_name="zfvis onnx_node_tests")


def opset_forms(out: Path):
    import onnxruntime as ort

    manifest = {"onnxruntime": ort.__version__, "cases": {}, "refused": {}}
    for case in EXTRA:
        sess = ort.InferenceSession(build(case).SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = case["feeds"]
        if case["dynamic_batch"]:
            feeds = {n: np.concatenate([a, a[::-1] * 0.5]) for n, a in feeds.items()}
        results = sess.run(None, feeds)
        model = build(case, results)
        onnx.checker.check_model(model, full_check=True)
        data = model.SerializeToString()
        ops = sorted({n.op_type for n in case["nodes"]})
        assert set(ops) <= SUPPORTED, ops
        manifest["cases"][case["name"]] = {"ops": ops, "opset": case["opset"], "rtol": 1e-4, "atol": 1e-6,
                                           "note": case["note"]}
        write_case(out / case["name"], data, list(feeds.values()), results)
    for case in REFUSED:
        model = build(case)
        folder = out / case["name"]
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        manifest["refused"][case["name"]] = {"expect": case["expect"]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------------------


def same_tree(fresh: Path, old: Path) -> list:
    """Relative paths that differ between two folders (.npy by value, other files by bytes)."""
    bad = []
    names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    names |= {p.relative_to(old) for p in old.rglob("*") if p.is_file()} if old.exists() else set()
    for rel in sorted(names):
        a, b = fresh / rel, old / rel
        if not (a.exists() and b.exists()):
            bad.append(str(rel))
        elif a.suffix == ".npy":
            x, y = np.load(a), np.load(b)
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                bad.append(str(rel))
        elif a.read_bytes() != b.read_bytes():
            bad.append(str(rel))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="generate into a temporary folder and compare")
    args = ap.parse_args()
    status = 0
    for generate, out in [(node_suite, NODE_OUT), (opset_forms, OPSETS_OUT)]:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fresh"
            fresh.mkdir()
            generate(fresh)
            if args.check:
                bad = same_tree(fresh, out)
                print(f"{out.relative_to(ROOT)}:", "differs: " + " ".join(bad) if bad else "all files match")
                status |= 1 if bad else 0
                continue
            if out.exists():
                shutil.rmtree(out)
            shutil.copytree(fresh, out)
        files = [p for p in out.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        print(f"wrote {len(files)} files, {total / 1024:.0f} KiB, to {out.relative_to(ROOT)}")
    sys.exit(status)


if __name__ == "__main__":
    main()
