//! The analysis's receptive fields (size, jump, start per layer) against brute force: nudge one input pixel
//! at a time and record which units of each layer change. A unit's changed pixels must span exactly
//! start + unit·jump .. + size − 1 where that lies inside the image, and stay within its clipped part at
//! the border.
//! Then against the per-unit boxes of vis::receptive_field on the committed torchvision and ZFNet graphs.

mod common;
use common::read;
use prost::Message;
use std::collections::HashMap;
use std::path::PathBuf;
use zfvis_core::formats::caffe::{self, proto};
use zfvis_core::formats::{onnx, Model};
use zfvis_core::ndarray::{ArrayD, IxDyn};
use zfvis_core::summary::summarize;
use zfvis_core::vis::receptive_field::{receptive_field, Field, Rect};
use zfvis_core::{engine, Graph};

/// Strides that differ by axis, padding, a dilated convolution, Caffe's ceil-rounded pooling with padding,
/// LRN within channels, average pooling and a global pool.
const STRIDED: &str = r#"
name: "strided"
input: "data"
input_shape { dim: 1 dim: 2 dim: 45 dim: 61 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 3 kernel_h: 5 kernel_w: 3 stride_h: 2 stride_w: 3 pad_h: 2 pad_w: 1 } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 2 kernel_size: 3 dilation: 2 pad: 1 } }
layer { name: "norm" type: "LRN" bottom: "conv2" top: "norm" lrn_param { norm_region: WITHIN_CHANNEL local_size: 3 } }
layer { name: "pool2" type: "Pooling" bottom: "norm" top: "pool2" pooling_param { pool: AVE kernel_size: 2 stride: 1 } }
layer { name: "relu" type: "ReLU" bottom: "pool2" top: "relu" }
layer { name: "global" type: "Pooling" bottom: "relu" top: "global" pooling_param { pool: AVE global_pooling: true } }
"#;

/// Branches of different windows joined by Concat, and that joined with a wider branch by Eltwise.
const BRANCHES: &str = r#"
name: "branches"
input: "data"
input_shape { dim: 1 dim: 1 dim: 40 dim: 40 }
layer { name: "conv0" type: "Convolution" bottom: "data" top: "conv0"
        convolution_param { num_output: 2 kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "a" type: "Convolution" bottom: "conv0" top: "a" convolution_param { num_output: 1 kernel_size: 1 } }
layer { name: "b" type: "Convolution" bottom: "conv0" top: "b"
        convolution_param { num_output: 1 kernel_size: 3 dilation: 2 pad: 2 } }
layer { name: "c" type: "Pooling" bottom: "conv0" top: "c" pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" bottom: "c" top: "cat" }
layer { name: "d" type: "Convolution" bottom: "conv0" top: "d"
        convolution_param { num_output: 4 kernel_size: 7 pad: 3 } }
layer { name: "sum" type: "Eltwise" bottom: "cat" bottom: "d" top: "sum" }
layer { name: "e" type: "Convolution" bottom: "sum" top: "e"
        convolution_param { num_output: 1 kernel_size: 3 stride: 2 } }
"#;

/// Weight shapes of the convolutions above.
const STRIDED_CONVS: &[(&str, [i64; 4])] = &[("conv1", [3, 2, 5, 3]), ("conv2", [2, 3, 3, 3])];
const BRANCHES_CONVS: &[(&str, [i64; 4])] =
    &[("conv0", [2, 1, 3, 3]), ("a", [1, 2, 1, 1]), ("b", [1, 2, 3, 3]), ("d", [4, 2, 7, 7]), ("e", [1, 4, 3, 3])];

/// The net with all-ones filters and zero biases: a positive nudge raises every unit it reaches, so max
/// pooling passes it on.
fn caffe_net(text: &str, convs: &[(&str, [i64; 4])]) -> Model {
    let blob = |dim: Vec<i64>, v: f32| proto::BlobProto {
        data: vec![v; dim.iter().product::<i64>() as usize],
        shape: Some(proto::BlobShape { dim }),
        ..Default::default()
    };
    let layer = |&(name, dim): &(&str, [i64; 4])| proto::LayerParameter {
        name: Some(name.into()),
        blobs: vec![blob(dim.to_vec(), 1.0), blob(vec![dim[0]], 0.0)],
        ..Default::default()
    };
    let weights = proto::NetParameter { layer: convs.iter().map(layer).collect(), ..Default::default() };
    caffe::load(text.as_bytes(), &weights.encode_to_vec()).unwrap()
}

/// The pixels span of a unit's changes: (y0, y1, x0, x1).
type Span = Option<(isize, isize, isize, isize)>;

fn widen(s: Span, y: isize, x: isize) -> Span {
    Some(s.map_or((y, y, x, x), |(y0, y1, x0, x1)| (y0.min(y), y1.max(y), x0.min(x), x1.max(x))))
}

/// Per layer, per unit (y, x): the input pixels whose nudge (every channel) changes any channel there.
fn brute_force(g: &Graph, layers: &[String]) -> Vec<(Vec<usize>, Vec<Span>)> {
    let shape = g.default_input_shapes().remove(0);
    let (c, h, w) = (shape[1], shape[2], shape[3]);
    let x = ArrayD::from_shape_fn(IxDyn(&shape), |i| ((i[1] * 31 + i[2] * 7 + i[3] * 3) % 11) as f32 / 11.0);
    let base = engine::forward(g, vec![x.clone()]).unwrap();
    let mut spans: Vec<(Vec<usize>, Vec<Span>)> = layers
        .iter()
        .map(|l| {
            let s = base.get(g, l).unwrap().shape().to_vec();
            let units = s[2] * s[3];
            (s, vec![None; units])
        })
        .collect();
    for py in 0..h {
        for px in 0..w {
            let mut nudged = x.clone();
            for ch in 0..c {
                nudged[[0, ch, py, px]] += 100.0;
            }
            let after = engine::forward(g, vec![nudged]).unwrap();
            for (l, (s, units)) in layers.iter().zip(spans.iter_mut()) {
                let (a, b) = (after.get(g, l).unwrap(), base.get(g, l).unwrap());
                for (u, span) in units.iter_mut().enumerate() {
                    let (uy, ux) = (u / s[3], u % s[3]);
                    if (0..s[1]).any(|ch| (a[[0, ch, uy, ux]] - b[[0, ch, uy, ux]]).abs() > 1e-3) {
                        *span = widen(*span, py as isize, px as isize);
                    }
                }
            }
        }
    }
    spans
}

/// The unclipped box of unit (y, x) under a field.
fn unit_box(f: &Field, y: usize, x: usize) -> (isize, isize, isize, isize) {
    let edge = |a: usize, u: usize| f.start[a] + u as f64 * f.jump[a];
    let (y0, x0) = (edge(0, y), edge(1, x));
    (y0 as isize, (y0 + f.size[0]) as isize - 1, x0 as isize, (x0 + f.size[1]) as isize - 1)
}

/// Checks every layer of a net; returns (interior units checked exactly, all units checked).
fn check_net(text: &str, convs: &[(&str, [i64; 4])], expect: &[(&str, Field)]) -> (usize, usize) {
    let m = caffe_net(text, convs);
    let (g, s) = (&m.graph, summarize(&m).unwrap());
    let layers: Vec<String> = s.layers.iter().map(|l| l.name.clone()).collect();
    let [_, _, h, w] = g.default_input_shapes()[0][..] else { unreachable!() };
    let (hi, wi) = (h as isize - 1, w as isize - 1);
    let (mut interior, mut all) = (0, 0);
    for ((shape, spans), row) in brute_force(g, &layers).iter().zip(&s.layers) {
        let f = row.receptive_field.unwrap_or_else(|| panic!("{}: no field", row.name));
        if let Some((_, want)) = expect.iter().find(|(n, _)| *n == row.name) {
            assert_eq!(&f, want, "{}", row.name);
        }
        let mut inside = 0;
        for (u, span) in spans.iter().enumerate() {
            let (y0, y1, x0, x1) = unit_box(&f, u / shape[3], u % shape[3]);
            let inside_image = y0 >= 0 && x0 >= 0 && y1 <= hi && x1 <= wi;
            if inside_image {
                assert_eq!(*span, Some((y0, y1, x0, x1)), "{} unit {u}: field {f:?}", row.name);
                inside += 1;
            } else {
                // At the border the box is clipped, and a dilated window's first taps inside may be holes.
                let (cy0, cy1, cx0, cx1) = (y0.max(0), y1.min(hi), x0.max(0), x1.min(wi));
                let (sy0, sy1, sx0, sx1) = span.unwrap_or_else(|| panic!("{} unit {u}: no pixel", row.name));
                assert!(
                    sy0 >= cy0 && sy1 <= cy1 && sx0 >= cx0 && sx1 <= cx1,
                    "{} unit {u}: field {f:?}, pixels {span:?}",
                    row.name
                );
            }
        }
        println!("{:8} {:?}: {} units, {inside} inside the image", row.name, f, spans.len());
        assert!(
            inside > 0 || row.type_name == "Pooling" && shape[2] == 1,
            "{}: no unit away from the border",
            row.name
        );
        interior += inside;
        all += spans.len();
    }
    (interior, all)
}

fn field(size: [f64; 2], jump: [f64; 2], start: [f64; 2]) -> Field {
    Field { size, jump, start }
}

#[test]
fn strided_padded_dilated_pooled_fields_match_brute_force() {
    let expect = [
        ("conv1", field([5.0, 3.0], [2.0, 3.0], [-2.0, -1.0])),
        ("pool1", field([9.0, 9.0], [4.0, 6.0], [-4.0, -4.0])),
        ("conv2", field([25.0, 33.0], [4.0, 6.0], [-8.0, -10.0])),
        ("norm", field([33.0, 45.0], [4.0, 6.0], [-12.0, -16.0])),
    ];
    let (interior, all) = check_net(STRIDED, STRIDED_CONVS, &expect);
    println!("strided net: {interior} interior units exact, {all} units in all");
}

#[test]
fn branch_and_merge_fields_match_brute_force() {
    // Concat: its widest branch (the dilated 3×3, 5 units of conv0); Eltwise: the wider 7×7 branch.
    let expect = [
        ("cat", field([11.0, 11.0], [2.0, 2.0], [-5.0, -5.0])),
        ("sum", field([15.0, 15.0], [2.0, 2.0], [-7.0, -7.0])),
        ("e", field([19.0, 19.0], [4.0, 4.0], [-7.0, -7.0])),
    ];
    let (interior, all) = check_net(BRANCHES, BRANCHES_CONVS, &expect);
    println!("branching net: {interior} interior units exact, {all} units in all");
}

fn graphs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/graphs")
}

/// A committed weightless graph with zeros for its removed initializers.
fn weightless(name: &str) -> Model {
    let mut m = onnx::proto::ModelProto::decode(&read(&graphs().join(format!("{name}.onnx")))[..]).unwrap();
    let removed: serde_json::Value =
        serde_json::from_slice(&read(&graphs().join(format!("{name}.weights.json")))).unwrap();
    let mut tensors = HashMap::new();
    for w in removed.as_array().unwrap() {
        let name = w["name"].as_str().unwrap().to_string();
        let dims: Vec<i64> = w["dims"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        m.graph.as_mut().unwrap().initializer.push(onnx::proto::TensorProto {
            name: Some(name.clone()),
            dims: dims.clone(),
            data_type: Some(onnx::proto::tensor_proto::DataType::Float as i32),
            ..Default::default()
        });
        tensors.insert(name, ArrayD::zeros(IxDyn(&dims.iter().map(|&d| d as usize).collect::<Vec<_>>())));
    }
    onnx::from_proto(m, tensors).unwrap()
}

#[test]
fn fields_agree_with_unit_boxes_on_large_graphs() {
    for model in ["alexnet", "vgg16", "resnet18", "squeezenet1_1", "googlenet", "zfnet512"] {
        let m = weightless(model);
        let s = summarize(&m).unwrap();
        let mut checked = 0;
        for row in &s.layers {
            let Some(f) = row.receptive_field else { continue };
            let shape = &row.outputs[0].shape;
            // Units in the middle and one step down and right of it.
            for (y, x) in [
                (shape[2] / 2, shape[3] / 2),
                ((shape[2] / 2 + 1).min(shape[2] - 1), (shape[3] / 2 + 1).min(shape[3] - 1)),
            ] {
                let r = receptive_field(&m.graph, &row.outputs[0].name, y, x).unwrap();
                let (y0, y1, x0, x1) = unit_box(&f, y, x);
                let ours = Rect { y0, y1, x0, x1 };
                if shape[2] == 1 && shape[3] == 1 {
                    // A 1×1 map's unit sees the whole field; the unit boxes stop at the value below the global pool.
                    assert!(
                        ours.y0 <= r.y0 && ours.y1 >= r.y1 && ours.x0 <= r.x0 && ours.x1 >= r.x1,
                        "{model} {}",
                        row.name
                    );
                } else {
                    assert_eq!(ours, r, "{model} {} unit ({y}, {x}): field {f:?}", row.name);
                }
                checked += 1;
            }
        }
        let last = s.layers.iter().rev().find_map(|l| l.receptive_field.map(|f| (l.name.clone(), f))).unwrap();
        println!("{model}: {checked} units agree; last spatial layer {} field {:?}", last.0, last.1);
    }
}
