#!/usr/bin/env python3
"""Reference outputs for every Caffe layer type and option zfvis runs, from OpenCV dnn's Caffe importer.

Builds small nets (a prototxt and a binary .caffemodel with seeded random weights), runs each through
cv2.dnn.readNetFromCaffe (OpenCV backend, CPU target, layer fusion off) and saves the input and every
layer's outputs as float32 .npy in crates/core/tests/data/caffe_layers/, with manifest.json listing them.
crates/core/tests/caffe_layers.rs checks zfvis against these files.

Needs (PyPI): numpy, opencv-python-headless<5, grpcio-tools (compiles crates/core/proto/caffe.proto to a
Python module in a temporary folder; its protobuf runtime writes the .caffemodel files).

    python3 tests/reference/caffe_layers.py            # regenerate the data
    python3 tests/reference/caffe_layers.py --check    # regenerate in memory, compare with the stored files

The output is deterministic for a given OpenCV build: inputs and weights come from
numpy.random.default_rng(seed) with a fixed seed per net.

Naming: the manifest keys each output by zfvis's value name: the Caffe layer name for a layer with one top,
"<layer>.<top>" for a layer with several tops (Split, Slice). OpenCV gives every output of a layer through
Net.forwardAndRetrieve([layer name]).

Where OpenCV does not read a Caffe option as Caffe defines it, the net's reference comes from an equivalent
"twin" net in OpenCV's dialect, saved beside it as <net>.opencv.prototxt / <net>.opencv.caffemodel and
named in the net's manifest notes. zfvis always runs the original net.

OpenCV dnn quirks met here (OpenCV 4.14 from opencv-python-headless) and how the script deals with them:
- Layer fusion (conv+ReLU, conv+BatchNorm+Scale, ...) would hide intermediate outputs: net.enableFusion(False).
- Several layers requested from one net in one forwardAndRetrieve call, or one after the other from the same
  net object, can come back wrong: the second top of a Split/Slice whose buffer a later layer reused, and
  Slice tops with the whole input's shape. So every layer gets a fresh net and one forward that stops at
  that layer. That also keeps in-place layers (top == bottom) apart: the conv before an in-place ReLU is
  read before the ReLU runs. The script asserts that each in-place layer changed its bottom's values and that
  Split/Slice tops rebuild their bottom.
- Input layers become net inputs, not layers: they are not requested. MAX pooling may return a second
  output (its argmax mask); only the first is kept.
- An equal-parts Slice (no slice_point) whose tops no layer reads fails shape inference in OpenCV, so
  slice_h's tops feed an Eltwise ("halves").
- Pooling round_mode: OpenCV's own caffe.proto has `bool ceil_mode = 13` where Caffe has
  `RoundMode round_mode = 13`, so `round_mode: FLOOR` does not parse there: the twin says `ceil_mode: false`.
- LRN: OpenCV does not read lrn_param.k (its bias is always 1) and defaults alpha to 1e-4 (Caffe: 1). The twin
  spells out the defaults, and for k != 1 runs alpha/k and the saved output is multiplied by k^-beta, since
  (k + alpha/n * S)^-beta = k^-beta * (1 + (alpha/k)/n * S)^-beta. Only leaf layers use k != 1, so nothing
  downstream sees the twin's unscaled values. WITHIN_CHANNEL: Caffe ignores k (1 + alpha * mean(x^2)), so
  lrn_within5 sets k: 3 to check that zfvis ignores it too.
- InnerProduct transpose: true is not read (OpenCV always takes the weights as N x K): the twin runs
  transpose: false on the transposed weight matrix.
- Scale with two bottoms and bias_term: OpenCV drops the second bottom and computes x + beta. The twin
  multiplies by the second bottom in one Scale and adds beta in a one-bottom Scale with gamma = 1.
- Scale with a negative axis fails in OpenCV; scale_tail uses axis: 2 num_axes: -1.
- Everything else here (conv with repeated kernel/stride/pad/dilation, pad_h/pad_w, dilation, groups, pooling
  ceil rounding and padding with Caffe's clipped AVE divisor, global pooling, IP axis 2, PReLU channel_shared,
  BatchNorm's scale factor, Scale with one or two bottoms, Reshape axis/num_axes, Concat/Slice on other axes,
  V1 nets and V1 blobs with legacy num/channels/height/width shapes) OpenCV reads as Caffe does; the script
  also checks output shapes against Caffe's shape rules where they are easy to state.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refdata import ROOT, publish  # noqa: E402

OUT = ROOT / "crates" / "core" / "tests" / "data" / "caffe_layers"


# ---------------------------------------------------------------------------------------------------------
# The nets. Each is a prototxt, an input shape, and for each layer with learned blobs a list of blob
# makers: a shape (filled with seeded normal values) or a function of the generator giving an array.
# ---------------------------------------------------------------------------------------------------------


def normal(shape, scale=0.5):
    return lambda rng: (rng.standard_normal(shape) * scale).astype(np.float32)


def positive(shape, lo=0.5, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, shape).astype(np.float32)


def const(values):
    return lambda rng: np.asarray(values, dtype=np.float32)


def input_layer(shape, name="data"):
    dims = " ".join(f"dim: {d}" for d in shape)
    return f'name: "{{net}}"\nlayer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {dims} }} }} }}\n'


NETS = []


def net(name, input_shape, prototxt, blobs=None, input_scale=1.0, v1=False, notes="", cv_override=None,
        expect_shapes=None):
    """Declares a net. cv_override makes an OpenCV twin: "text" is a list of (old, new) prototxt
    replacements, "blobs" maps a layer to a function of its blobs, "post" maps an output to a factor
    applied to OpenCV's result. expect_shapes: output shapes by Caffe's rules, checked on OpenCV's outputs."""
    NETS.append(dict(name=name, input_shape=input_shape, prototxt=prototxt, blobs=blobs or {},
                     input_scale=input_scale, v1=v1, notes=notes, cv_override=cv_override,
                     expect_shapes=expect_shapes or {}))


# Convolution: grouped + dilated + strided + asymmetric kernel with pad_h != pad_w; repeated (h, w) fields;
# no bias; the 1x1 path; an in-place ReLU after a conv.
net("conv", [1, 4, 11, 13], input_layer([1, 4, 11, 13]) + """
layer { name: "conv_gd" type: "Convolution" bottom: "data" top: "conv_gd"
  convolution_param { num_output: 6 group: 2 kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1
                      pad_h: 2 pad_w: 1 dilation: 2 } }
layer { name: "conv_rep" type: "Convolution" bottom: "data" top: "conv_rep"
  convolution_param { num_output: 3 kernel_size: 2 kernel_size: 3 stride: 2 stride: 3 pad: 1 pad: 0
                      dilation: 1 dilation: 2 } }
layer { name: "conv_nobias" type: "Convolution" bottom: "conv_gd" top: "conv_nobias"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 2 bias_term: false } }
layer { name: "conv_1x1" type: "Convolution" bottom: "conv_gd" top: "conv_1x1"
  convolution_param { num_output: 9 kernel_size: 1 group: 3 } }
layer { name: "conv_ip" type: "Convolution" bottom: "data" top: "conv_ip"
  convolution_param { num_output: 5 kernel_size: 3 } }
layer { name: "relu_ip" type: "ReLU" bottom: "conv_ip" top: "conv_ip" }
layer { name: "conv_after" type: "Convolution" bottom: "conv_ip" top: "conv_after"
  convolution_param { num_output: 2 kernel_size: 3 stride: 2 } }
""", blobs={
    "conv_gd": [normal((6, 2, 3, 2)), normal((6,))],
    "conv_rep": [normal((3, 4, 2, 3)), normal((3,))],
    "conv_nobias": [normal((4, 6, 3, 3), 0.3)],
    "conv_1x1": [normal((9, 2, 1, 1)), normal((9,))],
    "conv_ip": [normal((5, 4, 3, 3), 0.3), normal((5,))],
    "conv_after": [normal((2, 5, 3, 3), 0.3), normal((2,))],
}, expect_shapes={
    # (11 + 2*2 - (2*(3-1)+1)) / 2 + 1 = 6; (13 + 2*1 - (2*(2-1)+1)) / 1 + 1 = 13
    "conv_gd": (1, 6, 6, 13),
    # kernel 2x3, dilation (1, 2): extent 2x5; (11 + 2 - 2) / 2 + 1 = 6; (13 + 0 - 5) / 3 + 1 = 3
    "conv_rep": (1, 3, 6, 3),
    "conv_nobias": (1, 4, 3, 7),
    "conv_1x1": (1, 9, 6, 13),
    "conv_ip": (1, 5, 9, 11),
}, notes="conv_ip is followed by an in-place ReLU (relu_ip): conv_ip must hold the pre-ReLU values")

# Pooling: MAX/AVE, ceil rounding (Caffe's default), padding with the clipped AVE divisor, the rule that drops
# a last window starting inside the end padding, round_mode FLOOR, global pooling, asymmetric windows.
net("pool", [1, 3, 10, 9], input_layer([1, 3, 10, 9]) + """
layer { name: "max_ceil" type: "Pooling" bottom: "data" top: "max_ceil"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "max_floor" type: "Pooling" bottom: "data" top: "max_floor"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR } }
layer { name: "max_pad" type: "Pooling" bottom: "data" top: "max_pad"
  pooling_param { pool: MAX kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 3 pad_h: 1 pad_w: 1 } }
layer { name: "ave_ceil" type: "Pooling" bottom: "data" top: "ave_ceil"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "ave_pad" type: "Pooling" bottom: "data" top: "ave_pad"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "ave_pad_drop" type: "Pooling" bottom: "data" top: "ave_pad_drop"
  pooling_param { pool: AVE kernel_h: 3 kernel_w: 3 stride_h: 3 stride_w: 2 pad_h: 2 pad_w: 1 } }
layer { name: "ave_floor" type: "Pooling" bottom: "data" top: "ave_floor"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 round_mode: FLOOR } }
layer { name: "max_global" type: "Pooling" bottom: "data" top: "max_global"
  pooling_param { pool: MAX global_pooling: true } }
layer { name: "ave_global" type: "Pooling" bottom: "data" top: "ave_global"
  pooling_param { pool: AVE global_pooling: true } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 2 } }
layer { name: "max_conv" type: "Pooling" bottom: "conv" top: "max_conv" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
""", blobs={"conv": [normal((2, 3, 2, 2)), normal((2,))]}, input_scale=2.0,
    cv_override={"text": [("round_mode: FLOOR", "ceil_mode: false")]},
    notes="OpenCV's caffe.proto spells round_mode: FLOOR as ceil_mode: false; its reference net says so",
    expect_shapes={
    "max_ceil": (1, 3, 5, 4),     # ceil((10-3)/2)+1 = 5, ceil((9-3)/2)+1 = 4
    "max_floor": (1, 3, 4, 4),    # floor((10-3)/2)+1 = 4
    "max_pad": (1, 3, 6, 4),      # ceil((12-3)/2)+1 = 6; ceil((11-2)/3)+1 = 4
    "ave_ceil": (1, 3, 5, 4),
    "ave_pad": (1, 3, 6, 5),      # ceil((12-3)/2)+1 = 6; ceil((11-3)/2)+1 = 5
    # H: ceil((14-3)/3)+1 = 5, but window 4 starts at 12-2 = 10 >= H=10 (inside the end padding): dropped -> 4
    "ave_pad_drop": (1, 3, 4, 5),
    "ave_floor": (1, 3, 5, 5),    # floor((12-3)/2)+1 = 5; floor((11-3)/2)+1 = 5
    "max_global": (1, 3, 1, 1),
    "ave_global": (1, 3, 1, 1),
})

# Activations.
net("activation", [1, 5, 4, 6], input_layer([1, 5, 4, 6]) + """
layer { name: "relu" type: "ReLU" bottom: "data" top: "relu" }
layer { name: "leaky" type: "ReLU" bottom: "data" top: "leaky" relu_param { negative_slope: 0.1 } }
layer { name: "prelu" type: "PReLU" bottom: "data" top: "prelu" }
layer { name: "prelu_shared" type: "PReLU" bottom: "data" top: "prelu_shared" prelu_param { channel_shared: true } }
layer { name: "sigmoid" type: "Sigmoid" bottom: "data" top: "sigmoid" }
layer { name: "tanh" type: "TanH" bottom: "data" top: "tanh" }
layer { name: "dropout" type: "Dropout" bottom: "data" top: "dropout" dropout_param { dropout_ratio: 0.3 } }
""", blobs={
    "prelu": [const([0.25, -0.5, 0.0, 1.5, 0.1])],
    "prelu_shared": [const([0.3])],
}, input_scale=2.0)

# LRN across channels (with k != 1) and within a channel.
net("lrn", [1, 7, 5, 6], input_layer([1, 7, 5, 6]) + """
layer { name: "lrn_across" type: "LRN" bottom: "data" top: "lrn_across"
  lrn_param { local_size: 5 alpha: 0.3 beta: 0.75 k: 2.0 } }
layer { name: "lrn_across_default" type: "LRN" bottom: "data" top: "lrn_across_default" }
layer { name: "lrn_within" type: "LRN" bottom: "data" top: "lrn_within"
  lrn_param { norm_region: WITHIN_CHANNEL local_size: 3 alpha: 0.5 beta: 0.6 } }
layer { name: "lrn_within5" type: "LRN" bottom: "data" top: "lrn_within5"
  lrn_param { norm_region: WITHIN_CHANNEL local_size: 5 alpha: 2.0 beta: 0.75 k: 3.0 } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "lrn_conv" type: "LRN" bottom: "conv" top: "lrn_conv" lrn_param { local_size: 3 alpha: 0.2 beta: 0.5 k: 0.5 } }
""", blobs={"conv": [normal((3, 7, 1, 1)), normal((3,))]}, input_scale=2.0, cv_override={
    # OpenCV reads no lrn_param.k (its bias is always 1) and defaults alpha to 1e-4 (Caffe: 1). With
    # (k + a/n S)^-b = k^-b (1 + (a/k)/n S)^-b, its twin runs alpha/k and the saved output is scaled by k^-b.
    "text": [("local_size: 5 alpha: 0.3 beta: 0.75 k: 2.0", "local_size: 5 alpha: 0.15 beta: 0.75"),
             ("local_size: 3 alpha: 0.2 beta: 0.5 k: 0.5", "local_size: 3 alpha: 0.4 beta: 0.5"),
             ('top: "lrn_across_default" }', 'top: "lrn_across_default" lrn_param { local_size: 5 alpha: 1 beta: 0.75 } }')],
    "post": {"lrn_across": 2.0 ** -0.75, "lrn_conv": 0.5 ** -0.5},
}, notes="k != 1 layers: OpenCV ran alpha/k with k = 1 and its output was multiplied by k^-beta (an exact identity)")

# InnerProduct (axis 1, axis 2, no bias, transpose) and Softmax on several axes.
net("inner_product", [1, 3, 4, 5], input_layer([1, 3, 4, 5]) + """
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 7 } }
layer { name: "ip_nobias" type: "InnerProduct" bottom: "ip" top: "ip_nobias"
  inner_product_param { num_output: 4 bias_term: false } }
layer { name: "ip_axis2" type: "InnerProduct" bottom: "data" top: "ip_axis2"
  inner_product_param { num_output: 6 axis: 2 } }
layer { name: "ip_transpose" type: "InnerProduct" bottom: "data" top: "ip_transpose"
  inner_product_param { num_output: 5 transpose: true } }
layer { name: "softmax" type: "Softmax" bottom: "ip" top: "softmax" }
layer { name: "softmax_c" type: "Softmax" bottom: "data" top: "softmax_c" }
layer { name: "softmax_h" type: "Softmax" bottom: "data" top: "softmax_h" softmax_param { axis: 2 } }
layer { name: "softmax_last" type: "Softmax" bottom: "ip_axis2" top: "softmax_last" softmax_param { axis: -1 } }
""", blobs={
    "ip": [normal((7, 60), 0.2), normal((7,))],
    "ip_nobias": [normal((4, 7))],
    "ip_axis2": [normal((6, 20), 0.3), normal((6,))],
    "ip_transpose": [normal((60, 5), 0.2), normal((5,))],
}, input_scale=2.0, expect_shapes={"ip": (1, 7), "ip_axis2": (1, 3, 6), "ip_transpose": (1, 5)},
    cv_override={"text": [("num_output: 5 transpose: true", "num_output: 5 transpose: false")],
                 "blobs": {"ip_transpose": lambda b: [np.ascontiguousarray(b[0].T), b[1]]}},
    notes="ip_transpose's reference comes from OpenCV running transpose: false on the transposed weights")

# Eltwise SUM (plain, with coefficients), PROD, MAX over three bottoms.
net("eltwise", [1, 4, 5, 5], input_layer([1, 4, 5, 5]) + """
layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }
layer { name: "sum_coeff" type: "Eltwise" bottom: "a" bottom: "b" bottom: "data" top: "sum_coeff"
  eltwise_param { operation: SUM coeff: 0.5 coeff: -1.5 coeff: 2.0 } }
layer { name: "prod" type: "Eltwise" bottom: "a" bottom: "b" bottom: "data" top: "prod" eltwise_param { operation: PROD } }
layer { name: "max" type: "Eltwise" bottom: "a" bottom: "b" bottom: "data" top: "max" eltwise_param { operation: MAX } }
""", blobs={
    "a": [normal((4, 4, 3, 3), 0.3), normal((4,))],
    "b": [normal((4, 4, 1, 1)), normal((4,))],
})

# BatchNorm with a stored scale factor != 1, Scale (bias, no bias, two axes, two bottoms with and without
# bias), and a conv -> BatchNorm -> Scale -> ReLU chain done in place, as ResNet-style nets write it.
net("normalize", [1, 4, 5, 6], input_layer([1, 4, 5, 6]) + """
layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" batch_norm_param { eps: 0.001 } }
layer { name: "bn_default" type: "BatchNorm" bottom: "data" top: "bn_default" }
layer { name: "scale_bias" type: "Scale" bottom: "bn" top: "scale_bias" scale_param { bias_term: true } }
layer { name: "scale" type: "Scale" bottom: "data" top: "scale" }
layer { name: "scale_axes" type: "Scale" bottom: "data" top: "scale_axes"
  scale_param { axis: 1 num_axes: 2 bias_term: true } }
layer { name: "scale_tail" type: "Scale" bottom: "data" top: "scale_tail" scale_param { axis: 2 num_axes: -1 } }
layer { name: "gamma_ip" type: "InnerProduct" bottom: "data" top: "gamma_ip" inner_product_param { num_output: 4 } }
layer { name: "scale_two" type: "Scale" bottom: "data" bottom: "gamma_ip" top: "scale_two" scale_param { axis: 0 } }
layer { name: "scale_two_bias" type: "Scale" bottom: "data" bottom: "gamma_ip" top: "scale_two_bias"
  scale_param { axis: 0 bias_term: true } }
layer { name: "gamma_map" type: "Convolution" bottom: "data" top: "gamma_map"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "scale_two_map" type: "Scale" bottom: "data" bottom: "gamma_map" top: "scale_two_map"
  scale_param { axis: 0 } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "conv_bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "conv_scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
layer { name: "conv_relu" type: "ReLU" bottom: "conv" top: "conv" }
""", blobs={
    # Caffe stores mean and variance multiplied by the scale factor.
    "bn": [lambda rng: (rng.standard_normal(4) * 0.5 * 2.5).astype(np.float32),
           lambda rng: (rng.uniform(0.5, 2.0, 4) * 2.5).astype(np.float32), const([2.5])],
    "bn_default": [lambda rng: (rng.standard_normal(4) * 0.5 * 0.4).astype(np.float32),
                   lambda rng: (rng.uniform(0.001, 0.01, 4) * 0.4).astype(np.float32), const([0.4])],
    "scale_bias": [normal((4,)), normal((4,))],
    "scale": [normal((4,))],
    "scale_axes": [normal((4, 5)), normal((4, 5))],
    "scale_tail": [normal((5, 6))],
    "gamma_ip": [normal((4, 120), 0.1), normal((4,))],
    "scale_two_bias": [normal((1, 4))],
    "gamma_map": [normal((4, 4, 3, 3), 0.3), normal((4,))],
    "conv": [normal((3, 4, 3, 3), 0.3), normal((3,))],
    "conv_bn": [normal((3,)), positive((3,)), const([1.0])],
    "conv_scale": [const([1.5, -0.8, 0.6]), const([-0.5, 0.2, -0.3])],
}, cv_override={
    # OpenCV's Scale with two bottoms and a bias drops the second bottom (it computes x + beta). Its twin
    # multiplies by the second bottom in one layer and adds the bias in a one-bottom Scale with gamma = 1.
    "text": [('layer { name: "scale_two_bias" type: "Scale" bottom: "data" bottom: "gamma_ip" top: "scale_two_bias"\n'
              '  scale_param { axis: 0 bias_term: true } }',
              'layer { name: "scale_two_bias_mul" type: "Scale" bottom: "data" bottom: "gamma_ip" top: "scale_two_bias_mul"\n'
              '  scale_param { axis: 0 } }\n'
              'layer { name: "scale_two_bias" type: "Scale" bottom: "scale_two_bias_mul" top: "scale_two_bias"\n'
              '  scale_param { axis: 0 num_axes: 2 bias_term: true } }')],
    "blobs": {"scale_two_bias": lambda b: [np.ones((1, 4), np.float32), b[0]]},
}, notes="conv, conv_bn, conv_scale, conv_relu run in place on one blob; each keeps its own output. "
         "scale_two_bias's reference is OpenCV's two-layer equivalent (OpenCV drops the second bottom there)")

# Data movement: Flatten, Reshape, Concat, Slice, Split.
net("shape", [1, 6, 4, 5], input_layer([1, 6, 4, 5]) + """
layer { name: "flatten" type: "Flatten" bottom: "data" top: "flatten" }
layer { name: "flatten_hw" type: "Flatten" bottom: "data" top: "flatten_hw" flatten_param { axis: 2 } }
layer { name: "flatten_ch" type: "Flatten" bottom: "data" top: "flatten_ch" flatten_param { axis: 1 end_axis: 2 } }
layer { name: "reshape" type: "Reshape" bottom: "data" top: "reshape" reshape_param { shape { dim: 0 dim: -1 dim: 10 } } }
layer { name: "reshape_axes" type: "Reshape" bottom: "data" top: "reshape_axes"
  reshape_param { shape { dim: -1 } axis: 1 num_axes: 2 } }
layer { name: "reshape_tail" type: "Reshape" bottom: "data" top: "reshape_tail"
  reshape_param { shape { dim: 2 dim: 0 dim: -1 } axis: 1 } }
layer { name: "side" type: "Convolution" bottom: "data" top: "side"
  convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "concat_c" type: "Concat" bottom: "data" bottom: "side" top: "concat_c" }
layer { name: "below" type: "Convolution" bottom: "data" top: "below"
  convolution_param { num_output: 6 kernel_h: 3 kernel_w: 1 } }
layer { name: "concat_h" type: "Concat" bottom: "data" bottom: "below" bottom: "data" top: "concat_h"
  concat_param { axis: 2 } }
layer { name: "slice" type: "Slice" bottom: "concat_c" top: "s0" top: "s1" top: "s2"
  slice_param { axis: 1 slice_point: 1 slice_point: 5 } }
layer { name: "slice_h" type: "Slice" bottom: "concat_h" top: "h0" top: "h1" slice_param { axis: 2 } }
layer { name: "halves" type: "Eltwise" bottom: "h0" bottom: "h1" top: "halves" eltwise_param { operation: MAX } }
layer { name: "slice_w" type: "Slice" bottom: "data" top: "w0" top: "w1" slice_param { axis: -1 slice_point: 2 } }
layer { name: "split" type: "Split" bottom: "side" top: "side_a" top: "side_b" }
layer { name: "after_split" type: "Eltwise" bottom: "side_a" bottom: "side_b" top: "after_split"
  eltwise_param { operation: PROD } }
""", blobs={
    "side": [normal((3, 6, 1, 1)), normal((3,))],
    "below": [normal((6, 6, 3, 1)), normal((6,))],
}, expect_shapes={
    "flatten": (1, 120), "flatten_hw": (1, 6, 20), "flatten_ch": (1, 24, 5), "reshape": (1, 12, 10),
    "reshape_axes": (1, 24, 5), "reshape_tail": (1, 2, 4, 15), "concat_c": (1, 9, 4, 5), "concat_h": (1, 6, 10, 5),
    "slice.s0": (1, 1, 4, 5), "slice.s1": (1, 4, 4, 5), "slice.s2": (1, 4, 4, 5),
    "slice_h.h0": (1, 6, 5, 5), "slice_w.w0": (1, 6, 4, 2), "slice_w.w1": (1, 6, 4, 3),
})

# A V1 net: `layers {}` with enum types, `input:`/`input_dim:`, and a V1 caffemodel whose blobs have the
# legacy 4-D num/channels/height/width shapes (IP weights 1x1xNxK, biases 1x1x1xN).
net("v1", [1, 3, 8, 8], """name: "{net}"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 group: 1 } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layers { name: "norm1" type: LRN bottom: "pool1" top: "norm1" lrn_param { local_size: 3 alpha: 0.1 beta: 0.75 } }
layers { name: "conv2" type: CONVOLUTION bottom: "norm1" top: "conv2"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 group: 2 } }
layers { name: "sig" type: SIGMOID bottom: "conv2" top: "sig" }
layers { name: "th" type: TANH bottom: "conv2" top: "th" }
layers { name: "elt" type: ELTWISE bottom: "sig" bottom: "th" top: "elt" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }
layers { name: "cat" type: CONCAT bottom: "elt" bottom: "norm1" top: "cat" }
layers { name: "split" type: SPLIT bottom: "cat" top: "cat_a" top: "cat_b" }
layers { name: "sl" type: SLICE bottom: "cat_a" top: "sl0" top: "sl1" slice_param { slice_dim: 1 slice_point: 3 } }
layers { name: "pool2" type: POOLING bottom: "cat_b" top: "pool2" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layers { name: "flat" type: FLATTEN bottom: "pool2" top: "flat" }
layers { name: "fc" type: INNER_PRODUCT bottom: "flat" top: "fc" inner_product_param { num_output: 5 } }
layers { name: "drop" type: DROPOUT bottom: "fc" top: "drop" dropout_param { dropout_ratio: 0.5 } }
layers { name: "prob" type: SOFTMAX bottom: "drop" top: "prob" }
""", blobs={
    "conv1": [normal((4, 3, 3, 3), 0.4), normal((1, 1, 1, 4))],
    "conv2": [normal((4, 2, 3, 3), 0.4), normal((1, 1, 1, 4))],
    "fc": [normal((1, 1, 5, 32), 0.4), normal((1, 1, 1, 5))],
}, v1=True, input_scale=2.0,
    notes="V1 prototxt (layers, enum types, input_dim) and V1 caffemodel (legacy 4-D blob shapes)")


# ---------------------------------------------------------------------------------------------------------
# Building the files
# ---------------------------------------------------------------------------------------------------------


def seed_of(name):
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def make_blob(pb, arr, legacy):
    b = pb.BlobProto()
    arr = np.asarray(arr, dtype=np.float32)
    if legacy:
        dims = [1] * (4 - arr.ndim) + list(arr.shape)
        b.num, b.channels, b.height, b.width = dims
    else:
        b.shape.dim.extend(arr.shape)
    b.data.extend(arr.ravel().tolist())
    return b


def build(pb, spec):
    """One net's prototxt text, caffemodel bytes, input, layers, input name, and OpenCV twin (or None)."""
    from google.protobuf import text_format

    text = spec["prototxt"].replace("{net}", spec["name"])
    netp = text_format.Parse(text, pb.NetParameter())
    rng = np.random.default_rng(seed_of(spec["name"]))
    x = (rng.standard_normal(spec["input_shape"]) * spec["input_scale"]).astype(np.float32)
    layers = netp.layers if spec["v1"] else netp.layer
    names = [l.name for l in layers]
    blobs = {}
    for lname, makers in spec["blobs"].items():
        assert lname in names, f"{spec['name']}: blobs for unknown layer {lname}"
        blobs[lname] = [m(rng) if callable(m) else normal(m)(rng) for m in makers]

    def caffemodel(blob_map):
        model = pb.NetParameter()
        model.CopyFrom(netp)
        for l in model.layers if spec["v1"] else model.layer:
            for arr in blob_map.get(l.name, []):
                l.blobs.append(make_blob(pb, arr, legacy=spec["v1"]))
        return model.SerializeToString()

    cv_text = cv_model = None
    if spec["cv_override"]:
        # An equivalent net in OpenCV's dialect. OpenCV takes only the blobs from a .caffemodel (by layer
        # name), so the binary keeps the original layer definitions.
        cv_text = text
        for old, new in spec["cv_override"].get("text", []):
            assert old in cv_text, f"{spec['name']}: '{old}' not in the prototxt"
            cv_text = cv_text.replace(old, new)
        cv_blobs = dict(blobs)
        for lname, fn in spec["cv_override"].get("blobs", {}).items():
            cv_blobs[lname] = fn(blobs[lname])
        cv_model = caffemodel(cv_blobs)
    input_name = netp.input[0] if netp.input else next(l.top[0] for l in layers if l.type == "Input")
    return text, caffemodel(blobs), x, layers, input_name, cv_text, cv_model


def run_opencv(prototxt_path, model_path, x, layers):
    layers = [l for l in layers if l.type != "Input"]  # OpenCV makes Input layers net inputs, not layers
    result = {}
    for l in layers:
        # A fresh net and one forward per layer, stopping at it: see the header on why.
        net = cv2.dnn.readNetFromCaffe(str(prototxt_path), str(model_path))
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        net.enableFusion(False)
        net.setInput(x)
        (tops,) = net.forwardAndRetrieve([l.name])
        # MAX pooling may give a second output in OpenCV (its argmax mask); the others give exactly their tops.
        max_pool = l.type in ("Pooling", 17) and l.pooling_param.pool == 0
        allowed = (len(l.top), len(l.top) + 1) if max_pool else (len(l.top),)
        assert len(tops) in allowed, f"{l.name}: OpenCV gave {len(tops)} outputs for {len(l.top)} tops"
        for top, t in zip(l.top, tops):
            key = l.name if len(l.top) == 1 else f"{l.name}.{top}"
            result[key] = np.asarray(t, dtype=np.float32).copy()
    return result


def generate(pb, out: Path):
    manifest = {
        "generator": "tests/reference/caffe_layers.py",
        "reference": f"OpenCV {cv2.__version__} dnn (readNetFromCaffe, OpenCV backend, CPU, fusion off)",
        "nets": {},
    }
    for spec in NETS:
        name = spec["name"]
        text, model, x, layers, input_name, cv_text, cv_model = build(pb, spec)
        proto_file, model_file, input_file = f"{name}.prototxt", f"{name}.caffemodel", f"{name}.input.npy"
        (out / proto_file).write_text(text)
        (out / model_file).write_bytes(model)
        np.save(out / input_file, x)
        if cv_model is not None:
            (out / f"{name}.opencv.prototxt").write_text(cv_text)
            (out / f"{name}.opencv.caffemodel").write_bytes(cv_model)
            refs = run_opencv(out / f"{name}.opencv.prototxt", out / f"{name}.opencv.caffemodel", x, layers)
            for key, factor in spec["cv_override"].get("post", {}).items():
                refs[key] = (refs[key] * np.float32(factor)).astype(np.float32)
        else:
            refs = run_opencv(out / proto_file, out / model_file, x, layers)
        in_place = []
        for key, shape in spec["expect_shapes"].items():
            assert refs[key].shape == tuple(shape), f"{name}/{key}: OpenCV shape {refs[key].shape}, Caffe's rules give {shape}"
        # Each in-place layer (top == bottom) must leave the output of the layer before it untouched; Split
        # and Slice tops must put their bottom back together.
        producer = {input_name: None}
        refs[None] = x
        for l in layers:
            if l.type == "Input":
                continue
            tops = [refs[l.name if len(l.top) == 1 else f"{l.name}.{t}"] for t in l.top]
            bottom = refs[producer[l.bottom[0]]]
            if l.type in ("Split", 22):
                assert all(np.array_equal(t, bottom) for t in tops), f"{name}/{l.name}: tops differ from the bottom"
            if l.type in ("Slice", 33):
                axis = l.slice_param.slice_dim if l.slice_param.HasField("slice_dim") else l.slice_param.axis
                assert np.array_equal(np.concatenate(tops, axis=axis), bottom), f"{name}/{l.name}: tops do not rebuild the bottom"
            if len(l.top) == 1 and list(l.bottom) == list(l.top):
                before = producer[l.top[0]]
                assert not np.array_equal(refs[before], refs[l.name]), f"{name}/{before}: overwritten by in-place {l.name}"
                in_place.append(f"{before} -> {l.name}")
            for t in l.top:
                producer[t] = l.name if len(l.top) == 1 else f"{l.name}.{t}"
        del refs[None]
        outputs = {}
        for key, arr in refs.items():
            f = f"{name}.{key}.npy"
            np.save(out / f, arr)
            outputs[key] = {"file": f, "shape": list(arr.shape)}
        manifest["nets"][name] = {
            "prototxt": proto_file,
            "caffemodel": model_file,
            "format": "V1" if spec["v1"] else "V2",
            "input": input_file,
            "outputs": outputs,
            "notes": spec["notes"],
            "in_place": in_place,
        }
        print(f"{name}: {len(outputs)} outputs ({', '.join(outputs)})")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="generate into a temporary folder and compare with --out")
    args = ap.parse_args()
    publish(generate, args.out, args.check)

if __name__ == "__main__":
    main()
