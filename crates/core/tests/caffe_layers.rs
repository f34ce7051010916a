//! Every Caffe layer type and option the engine runs, against OpenCV dnn's outputs for small generated nets.
//! The nets, inputs and references are committed in tests/data/caffe_layers (made by
//! tests/reference/caffe_layers.py at the repository root), so this test needs nothing outside the crate.

mod common;
use common::*;
use std::path::PathBuf;
use zfvis_core::{engine, formats::caffe};

const TOL: f32 = 1e-4;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/caffe_layers")
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(&read(&data_dir().join("manifest.json"))).unwrap()
}

/// Runs one net and returns (value, error) for every saved output.
fn check_net(net: &str) -> Vec<(String, f32)> {
    let dir = data_dir();
    let m = manifest();
    let entry = &m["nets"][net];
    assert!(entry.is_object(), "net '{net}' is not in the manifest");
    let file = |k: &str| dir.join(entry[k].as_str().unwrap());
    let model =
        caffe::load(&read(&file("prototxt")), &read(&file("caffemodel"))).unwrap_or_else(|e| panic!("{net}: {e}"));
    let want_format = entry["format"].as_str().unwrap();
    assert!(model.format.contains(&format!("{want_format} prototxt")), "{net}: loaded as {}", model.format);
    assert!(model.format.contains(&format!("binary {want_format} .caffemodel")), "{net}: loaded as {}", model.format);
    let input = npy(&file("input"));
    let acts = engine::forward(&model.graph, vec![input]).unwrap_or_else(|e| panic!("{net}: {e}"));
    let outputs = entry["outputs"].as_object().unwrap();
    assert!(!outputs.is_empty());
    let mut report = vec![];
    for (value, spec) in outputs {
        let reference = npy(&dir.join(spec["file"].as_str().unwrap()));
        let ours = acts.get(&model.graph, value).unwrap_or_else(|| panic!("{net}: no value '{value}'"));
        assert_eq!(ours.shape(), reference.shape(), "{net} {value}: shape");
        report.push((value.clone(), rel_err(ours, &reference)));
    }
    for (value, err) in &report {
        println!("{net:>14} {value:<16} max|ours − ref| / max(1, max|ref|) = {err:.2e}");
    }
    let bad: Vec<String> =
        report.iter().filter(|(_, e)| e.is_nan() || *e > TOL).map(|(v, e)| format!("{v}: {e:e}")).collect();
    assert!(bad.is_empty(), "{net}: over {TOL:e}: {}", bad.join(", "));
    report
}

#[test]
fn every_net_in_the_manifest_is_tested() {
    let m = manifest();
    let mut nets: Vec<&str> = m["nets"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    nets.sort();
    assert_eq!(nets, ["activation", "conv", "eltwise", "inner_product", "lrn", "normalize", "pool", "shape", "v1"]);
}

#[test]
fn every_supported_layer_type_is_covered() {
    let m = manifest();
    let mut seen = std::collections::BTreeSet::new();
    for (_, entry) in m["nets"].as_object().unwrap() {
        let file = |k: &str| data_dir().join(entry[k].as_str().unwrap());
        let model = caffe::load(&read(&file("prototxt")), &read(&file("caffemodel"))).unwrap();
        seen.extend(model.graph.nodes.iter().map(|n| n.type_name.clone()));
    }
    let missing: Vec<&&str> = caffe::SUPPORTED.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "layer types without a reference: {missing:?}");
}

#[test]
fn convolution_matches_opencv() {
    check_net("conv");
}

#[test]
fn in_place_layers_keep_each_output() {
    // Each "before -> after" pair in the manifest is a layer followed by an in-place layer (top == bottom):
    // zfvis must keep both values, different from each other, and each matching OpenCV.
    let m = manifest();
    let mut pairs = 0;
    for (net, entry) in m["nets"].as_object().unwrap() {
        let file = |k: &str| data_dir().join(entry[k].as_str().unwrap());
        let model = caffe::load(&read(&file("prototxt")), &read(&file("caffemodel"))).unwrap();
        let acts = engine::forward(&model.graph, vec![npy(&file("input"))]).unwrap();
        for pair in entry["in_place"].as_array().unwrap() {
            let (before, after) = pair.as_str().unwrap().split_once(" -> ").unwrap();
            let (b, a) = (acts.get(&model.graph, before).unwrap(), acts.get(&model.graph, after).unwrap());
            assert_ne!(b, a, "{net}: '{before}' was overwritten by the in-place '{after}'");
            for v in [before, after] {
                let reference = npy(&data_dir().join(entry["outputs"][v]["file"].as_str().unwrap()));
                let err = rel_err(acts.get(&model.graph, v).unwrap(), &reference);
                assert!(err <= TOL, "{net} {v}: {err:e}");
            }
            pairs += 1;
        }
    }
    // conv_ip -> relu_ip, conv -> conv_bn -> conv_scale -> conv_relu, conv1 -> relu1 (V1)
    assert_eq!(pairs, 5);
}

#[test]
fn pooling_matches_opencv() {
    check_net("pool");
}

#[test]
fn activations_match_opencv() {
    check_net("activation");
}

#[test]
fn lrn_matches_opencv() {
    check_net("lrn");
}

#[test]
fn inner_product_and_softmax_match_opencv() {
    check_net("inner_product");
}

#[test]
fn eltwise_matches_opencv() {
    check_net("eltwise");
}

#[test]
fn batchnorm_and_scale_match_opencv() {
    check_net("normalize");
}

#[test]
fn flatten_reshape_concat_slice_split_match_opencv() {
    check_net("shape");
}

#[test]
fn v1_net_and_v1_caffemodel_match_opencv() {
    check_net("v1");
}
