//! Every op's backward (true-gradient rules) against central finite differences, on the committed layer
//! nets of tests/data/caffe_layers: d(Σ r⊙out)/d(input) at sampled input positions.

mod common;
use common::*;
use ndarray::ArrayD;
use std::path::PathBuf;
use zfvis_core::engine::{self, backward::backward};
use zfvis_core::formats::caffe;
use zfvis_core::ops::{ReluRule, Rules};

fn lcg(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

#[test]
fn backward_matches_finite_differences() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/caffe_layers");
    let m: serde_json::Value = serde_json::from_slice(&read(&dir.join("manifest.json"))).unwrap();
    let rules = Rules { relu: ReluRule::Gradient, lrn_gradient: true };
    let mut checked = 0;
    let mut failures = vec![];
    for (net, entry) in m["nets"].as_object().unwrap() {
        let file = |k: &str| dir.join(entry[k].as_str().unwrap());
        let g = caffe::load(&read(&file("prototxt")), &read(&file("caffemodel"))).unwrap().graph;
        let x = npy(&file("input"));
        let acts = engine::forward(&g, vec![x.clone()]).unwrap();
        for value in entry["outputs"].as_object().unwrap().keys() {
            let id = g.value_id(value).unwrap();
            let mut seed = 7u64 + checked as u64;
            let r = ArrayD::from_shape_fn(acts.values[id].raw_dim(), |_| lcg(&mut seed));
            let loss = |x: &ArrayD<f32>| -> f64 {
                let a = engine::forward(&g, vec![x.clone()]).unwrap();
                a.values[id].iter().zip(r.iter()).map(|(o, w)| *o as f64 * *w as f64).sum()
            };
            let grads = backward(&g, &acts, id, r.clone(), rules).unwrap();
            let Some(dx) = grads[g.inputs[0].0].as_ref() else { continue };
            let scale = dx.iter().fold(1e-3f32, |a, v| a.max(v.abs()));
            for k in 0..12 {
                let i = (lcg(&mut seed).abs() * x.len() as f32) as usize % x.len();
                // Small enough not to cross a ReLU or max-pooling kink at these samples (1e-2 crosses two).
                let h = 1e-3f32;
                let (mut up, mut down) = (x.clone(), x.clone());
                up.as_slice_mut().unwrap()[i] += h;
                down.as_slice_mut().unwrap()[i] -= h;
                let fd = ((loss(&up) - loss(&down)) / (2.0 * h as f64)) as f32;
                let an = dx.as_slice().unwrap()[i];
                if (fd - an).abs() > 1e-2 * scale {
                    failures.push(format!("{net} {value} #{k} input {i}: analytic {an}, numeric {fd} (scale {scale})"));
                }
                checked += 1;
            }
        }
    }
    println!("{checked} gradient entries checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
