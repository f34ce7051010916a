//! Guided backprop, saliency and Grad-CAM against captum on independent PyTorch ports of the fixture nets:
//! tests/data/attributions, made by tests/reference/attributions.py (its manifest says what each file is).

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use zfvis_core::engine::{self, Activations};
use zfvis_core::formats::caffe;
use zfvis_core::graph::Graph;
use zfvis_core::vis::gradcam::grad_cam;
use zfvis_core::vis::projection::{project, strongest, Method, Options, Target, Unit};
use zfvis_core::Tensor;

const TOL: f32 = 1e-4;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/attributions")
}

fn ours(graph: &Graph, acts: &Activations, e: &Value) -> Tensor {
    let layer = e["layer"].as_str().unwrap();
    let channel = e["channel"].as_u64().map(|c| c as usize);
    let method = match e["method"].as_str().unwrap() {
        "gradcam" => return grad_cam(graph, acts, layer, e["class"].as_u64().unwrap() as usize).unwrap(),
        "guided_backprop" => Method::GuidedBackprop,
        "saliency" => Method::Saliency,
        m => panic!("unknown method {m}"),
    };
    let channel = channel.unwrap();
    let unit = match e["unit"].as_str().unwrap() {
        "logit" => Unit::Max,
        "map" => Unit::Map,
        "max" => {
            let (y, x) = (e["position"][0].as_u64().unwrap() as usize, e["position"][1].as_u64().unwrap() as usize);
            // The reference chose the unit as the first maximum of the channel; so must we.
            let a = acts.get(graph, layer).unwrap();
            let a = a.as_standard_layout();
            let shape = a.shape().to_vec();
            let plane = shape[2] * shape[3];
            let ch = &a.as_slice().unwrap()[channel * plane..(channel + 1) * plane];
            assert_eq!(strongest(ch).0, y * shape[3] + x, "{layer} c{channel}: strongest unit differs");
            Unit::At(y, x)
        }
        u => panic!("unknown unit {u}"),
    };
    project(graph, acts, &Target { value: layer.into(), channel, unit }, method, Options::default()).unwrap()
}

#[test]
fn attributions_match_captum() {
    let Some(sh) = shared() else { return };
    let m: Value = serde_json::from_slice(&read(&data().join("manifest.json"))).unwrap();
    let mut models = HashMap::new();
    let mut forwards: HashMap<(String, String), Activations> = HashMap::new();
    let mut worst = 0f32;
    let entries = m["entries"].as_array().unwrap();
    for e in entries {
        let (key, image) = (e["model"].as_str().unwrap(), e["image"].as_str().unwrap());
        let spec = &m["models"][key];
        let model = models.entry(key.to_string()).or_insert_with(|| {
            let load = |k: &str| read(&sh.join(spec[k].as_str().unwrap()));
            caffe::load(&load("prototxt"), &load("weights")).unwrap()
        });
        let g = &model.graph;
        let acts = forwards.entry((key.into(), image.into())).or_insert_with(|| {
            let input = npy(&sh.join(spec["images"][image]["input"].as_str().unwrap()));
            engine::forward(g, vec![input]).unwrap()
        });
        // The class the reference used is our top-1 too.
        let logits = acts.get(g, "ip2").unwrap();
        let top1 = strongest(logits.as_standard_layout().as_slice().unwrap()).0;
        assert_eq!(top1 as u64, spec["images"][image]["top1"].as_u64().unwrap(), "{key} {image}: top-1");

        let got = ours(g, acts, e);
        let want = npy(&data().join(e["file"].as_str().unwrap()));
        let err = rel_err(&got, &want);
        // rel_err's max(1, ·) makes it an absolute bound for small maps (cifar10_quick's logit gradients peak
        // near 4e-3), so the error against the map's own peak is held to the same bound too.
        let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scaled = got.iter().zip(want.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / peak;
        worst = worst.max(err).max(scaled);
        let what = format!(
            "{key} {image} {} {} c{} {}",
            e["method"].as_str().unwrap(),
            e["layer"].as_str().unwrap(),
            e["channel"].as_u64().or(e["class"].as_u64()).unwrap(),
            e["unit"].as_str().unwrap_or("")
        );
        println!(
            "{what}: max|ours - ref| / max(1, max|ref|) = {err:.2e}, / max|ref| = {scaled:.2e} (max|ref| {peak:.3e})"
        );
        assert!(err <= TOL, "{what}: {err:e} > {TOL:e}");
        assert!(scaled <= TOL, "{what}: {scaled:e} of the map's peak > {TOL:e}");
    }
    assert_eq!(entries.len(), 21, "the manifest lists 7 cases for each of 3 (model, image) pairs");
    println!("{} attributions within {TOL:e}; worst {worst:.2e}", entries.len());
}

/// The stored files are the script's: every manifest entry exists with the shape it says.
#[test]
fn manifest_matches_files() {
    let m: Value = serde_json::from_slice(&read(&data().join("manifest.json"))).unwrap();
    for e in m["entries"].as_array().unwrap() {
        let a = npy(&data().join(Path::new(e["file"].as_str().unwrap())));
        let shape: Vec<usize> = e["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(a.shape(), &shape[..], "{}", e["file"]);
    }
}
