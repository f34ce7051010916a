//! Receptive fields against brute force: nudge one input pixel at a time and see which units change;
//! the box must be the bounding box of those pixels.

use ndarray::{ArrayD, IxDyn};
use prost::Message;
use zfvis_core::formats::caffe::{self, proto};
use zfvis_core::vis::receptive_field::receptive_field;
use zfvis_core::{engine, Graph};

const NET: &str = r#"
name: "geometry"
input: "data"
input_shape { dim: 1 dim: 2 dim: 31 dim: 29 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 2 kernel_size: 3 stride: 2 pad: 1 bias_term: false } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 2 kernel_h: 2 kernel_w: 3 dilation: 2 bias_term: false } }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
        pooling_param { pool: MAX kernel_size: 2 stride: 1 } }
layer { name: "norm" type: "LRN" bottom: "pool2" top: "norm" lrn_param { norm_region: WITHIN_CHANNEL local_size: 3 } }
"#;

/// All-ones filters: a positive nudge raises every unit it reaches, so max pooling passes it on.
fn model() -> Graph {
    let ones = |shape: &[i64]| proto::BlobProto {
        shape: Some(proto::BlobShape { dim: shape.to_vec() }),
        data: vec![1.0; shape.iter().product::<i64>() as usize],
        ..Default::default()
    };
    let layer = |name: &str, shape: &[i64]| proto::LayerParameter {
        name: Some(name.into()),
        blobs: vec![ones(shape)],
        ..Default::default()
    };
    let weights = proto::NetParameter {
        layer: vec![layer("conv1", &[2, 2, 3, 3]), layer("conv2", &[2, 2, 2, 3])],
        ..Default::default()
    };
    caffe::load(NET.as_bytes(), &weights.encode_to_vec()).unwrap().graph
}

#[test]
fn boxes_equal_the_pixels_that_change_each_unit() {
    let g = model();
    let x = ArrayD::from_shape_fn(IxDyn(&[1, 2, 31, 29]), |i| ((i[1] * 31 + i[2] * 7 + i[3] * 3) % 11) as f32 / 11.0);
    let base = engine::forward(&g, vec![x.clone()]).unwrap();
    for layer in ["conv1", "pool1", "conv2", "pool2", "norm"] {
        let out = base.get(&g, layer).unwrap();
        let (oh, ow) = (out.shape()[2], out.shape()[3]);
        // changed[unit] = the input pixels (y, x) whose nudge changed that unit (channel 0).
        let mut changed = vec![vec![]; oh * ow];
        for py in 0..31 {
            for px in 0..29 {
                let mut nudged = x.clone();
                nudged[[0, 1, py, px]] += 100.0;
                let after = engine::forward(&g, vec![nudged]).unwrap();
                let a = after.get(&g, layer).unwrap();
                for u in 0..oh * ow {
                    if (a[[0, 0, u / ow, u % ow]] - out[[0, 0, u / ow, u % ow]]).abs() > 1e-3 {
                        changed[u].push((py as isize, px as isize));
                    }
                }
            }
        }
        for (u, c) in changed.iter().enumerate() {
            let r = receptive_field(&g, layer, u / ow, u % ow).unwrap().clip(31, 29);
            // The box bounds the pixels that matter (dilation leaves holes inside it).
            let bound = (
                c.iter().map(|p| p.0).min(),
                c.iter().map(|p| p.0).max(),
                c.iter().map(|p| p.1).min(),
                c.iter().map(|p| p.1).max(),
            );
            assert_eq!(bound, (Some(r.y0), Some(r.y1), Some(r.x0), Some(r.x1)), "{layer} unit {u}");
        }
    }
}
