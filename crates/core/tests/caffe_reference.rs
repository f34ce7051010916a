//! Forward pass against OpenCV dnn's outputs in ../shared/reference, for every weight set.

mod common;
use common::*;
use zfvis_core::{engine, formats::caffe};

const TOL: f32 = 1e-4;

fn check_model(key: &str) -> Vec<(String, String, f32)> {
    let Some(sh) = shared() else { return vec![] };
    let m = manifest(&sh);
    let entry = &m["models"][key];
    let model = caffe::load(
        &read(&sh.join(entry["prototxt"].as_str().unwrap())),
        &read(&sh.join(entry["weights"].as_str().unwrap())),
    )
    .unwrap_or_else(|e| panic!("{key}: {e}"));
    let mut report = vec![];
    for (img, spec) in entry["images"].as_object().unwrap() {
        let input = npy(&sh.join(spec["input"].as_str().unwrap()));
        let acts = engine::forward(&model.graph, vec![input]).unwrap();
        let blobs = spec["blobs_cv2"].as_object().unwrap();
        assert!(!blobs.is_empty());
        for (layer, b) in blobs {
            let reference = npy(&sh.join(b["path"].as_str().unwrap()));
            let ours = acts.get(&model.graph, layer).unwrap_or_else(|| panic!("{key}: no value '{layer}'"));
            let err = rel_err(ours, &reference);
            report.push((img.clone(), layer.clone(), err));
        }
    }
    for (img, layer, err) in &report {
        println!("{key} {img} {layer}: rel err {err:.2e}");
    }
    for (img, layer, err) in &report {
        assert!(*err <= TOL, "{key} {img} {layer}: {err:e} > {TOL:e}");
    }
    report
}

#[test]
fn cifar10_quick_v1_matches_opencv() {
    check_model("cifar10_quick_iter_5000_v1");
}

#[test]
fn cifar10_quick_v2_matches_opencv() {
    check_model("cifar10_quick_iter_4000");
}

#[test]
fn cifar10_quick_h5_matches_opencv() {
    check_model("cifar10_quick_iter_5000_h5");
}

#[test]
fn lenet_matches_opencv() {
    check_model("lenet");
}

#[test]
fn h5_and_binary_twin_load_bit_identical() {
    let Some(sh) = shared() else { return };
    let dir = sh.join("fixtures/caffe/cifar10_quick");
    let proto = read(&dir.join("cifar10_quick.prototxt"));
    let a = caffe::load(&proto, &read(&dir.join("cifar10_quick_iter_5000.caffemodel.h5"))).unwrap();
    let b = caffe::load(&proto, &read(&dir.join("cifar10_quick_iter_5000.from_h5.caffemodel"))).unwrap();
    let mut n = 0;
    for (x, y) in a.graph.nodes.iter().zip(&b.graph.nodes) {
        assert_eq!(x.weights().len(), y.weights().len());
        for (wx, wy) in x.weights().iter().zip(y.weights()) {
            assert_eq!(wx.shape(), wy.shape());
            assert!(wx.iter().zip(wy.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "{} differs", x.name);
            n += wx.len();
        }
    }
    assert_eq!(n, 145_578);
}
