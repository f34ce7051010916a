//! A batch of N images gives, image by image, the outputs and projections of N single passes.

mod common;
use common::*;
use ndarray::{concatenate, Axis};
use zfvis_core::formats::{caffe, onnx};
use zfvis_core::graph::Graph;
use zfvis_core::{engine, Tensor};

fn check(g: &Graph, singles: Vec<Tensor>) {
    let views: Vec<_> = singles.iter().map(|t| t.view()).collect();
    let batch = concatenate(Axis(0), &views).unwrap();
    let together = engine::forward(g, vec![batch]).unwrap();
    for (i, x) in singles.into_iter().enumerate() {
        let alone = engine::forward(g, vec![x]).unwrap();
        for (v, a) in alone.values.iter().enumerate() {
            let b = together.values[v].index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned();
            assert_eq!(a.shape(), b.shape(), "{}", g.values[v].name);
            assert!(rel_err(a, &b) <= 1e-6, "{} image {i}: {}", g.values[v].name, rel_err(a, &b));
        }
    }
}

#[test]
fn batches_equal_single_passes() {
    let Some(sh) = shared() else { return };
    let dir = sh.join("fixtures/caffe/cifar10_quick");
    let m = caffe::load(&read(&dir.join("cifar10_quick.prototxt")), &read(&dir.join("cifar10_quick_iter_4000.caffemodel")))
        .unwrap();
    let refs = sh.join("reference/cifar10_quick_iter_4000");
    let inputs: Vec<Tensor> = ["cat_0000", "ship_0000"]
        .iter()
        .filter_map(|n| std::fs::metadata(refs.join(n).join("input.npy")).ok().map(|_| npy(&refs.join(n).join("input.npy"))))
        .collect();
    let mut inputs = inputs;
    while inputs.len() < 3 {
        inputs.push(inputs[0].mapv(|v| v * 0.5 - 1.0));
    }
    check(&m.graph, inputs);
    let m = onnx::load(&read(&sh.join("fixtures/onnx/mnist-8.onnx"))).unwrap();
    let x = npy(&sh.join("reference/mnist-8/wonnx_5/input.npy"));
    check(&m.graph, vec![x.clone(), x.mapv(|v| 255.0 - v), x.mapv(|v| v * 0.3)]);
}
