//! Every ONNX operator's backward (true-gradient rules) against central finite differences, on the cases of
//! tests/data/onnx_node and tests/data/onnx_opsets: d(Σ r⊙output)/d(input) at sampled positions of every
//! runtime input, for every output. Samples where the function has a kink (the one-sided differences
//! disagree: a ReLU or Clip edge, a max-pooling tie) are counted and left out.

mod onnx_cases;
use onnx_cases::{data_dir, load_case, manifest};
use std::collections::BTreeMap;
use zfvis_core::engine::{self, backward::backward};
use zfvis_core::formats::onnx::SUPPORTED;
use zfvis_core::ops::{ReluRule, Rules};
use zfvis_core::Tensor;

fn lcg(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

const SAMPLES: usize = 12;
const STEP: f32 = 1e-3;

#[test]
fn onnx_backward_matches_finite_differences() {
    let rules = Rules { relu: ReluRule::Gradient, lrn_gradient: true };
    // Per operator: (entries checked, entries at kinks).
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = vec![];
    let mut cases = 0;
    for folder in ["onnx_node", "onnx_opsets"] {
        for (name, entry) in manifest(folder)["cases"].as_object().unwrap() {
            // Cases that do not load or run are the node suite's known failures.
            let Ok(case) = load_case(&data_dir(folder).join(name)) else { continue };
            let g = &case.model.graph;
            let Ok(acts) = engine::forward(g, case.feeds.clone()) else { continue };
            cases += 1;
            let mut seed = 11u64 + cases as u64;
            let (mut checked, mut kinks) = (0, 0);
            for output in &case.outputs {
                let Some(id) = g.value_id(output) else { continue };
                let r = Tensor::from_shape_fn(acts.values[id].raw_dim(), |_| lcg(&mut seed));
                let loss = |feeds: Vec<Tensor>| -> f64 {
                    let a = engine::forward(g, feeds).unwrap();
                    a.values[id].iter().zip(r.iter()).map(|(o, w)| *o as f64 * *w as f64).sum()
                };
                let grads = backward(g, &acts, id, r.clone(), rules).unwrap();
                let base = loss(case.feeds.clone());
                for (k, (input, _)) in g.inputs.iter().enumerate() {
                    let x = &case.feeds[k];
                    let dx = grads[*input].clone().unwrap_or_else(|| Tensor::zeros(x.raw_dim()));
                    let dx = dx.as_standard_layout();
                    let scale = dx.iter().fold(1e-3f32, |a, v| a.max(v.abs()));
                    for s in 0..SAMPLES.min(x.len()) {
                        let i = if x.len() <= SAMPLES {
                            s
                        } else {
                            (lcg(&mut seed).abs() * x.len() as f32) as usize % x.len()
                        };
                        let at = |delta: f32| {
                            let mut feeds = case.feeds.clone();
                            let v = &mut feeds[k].as_slice_mut().unwrap()[i];
                            *v += delta;
                            let moved = *v - x.as_slice().unwrap()[i];
                            (loss(feeds), moved as f64)
                        };
                        let ((up, hu), (down, hd)) = (at(STEP), at(-STEP));
                        let (right, left) = ((up - base) / hu, (base - down) / -hd);
                        let central = ((up - down) / (hu - hd)) as f32;
                        let an = dx.as_slice().unwrap()[i];
                        if (right - left).abs() as f32 > 2e-2 * scale {
                            kinks += 1;
                        } else if (central - an).abs() > 1e-2 * scale {
                            failures.push(format!(
                                "{folder}/{name} d{output}/d(input {k})[{i}]: analytic {an}, numeric {central} (scale {scale})"
                            ));
                        } else {
                            checked += 1;
                        }
                    }
                }
            }
            for op in entry["ops"].as_array().unwrap() {
                let c = counts.entry(op.as_str().unwrap().to_string()).or_default();
                (c.0, c.1) = (c.0 + checked, c.1 + kinks);
            }
        }
    }
    println!("\n| operator | gradient entries checked | at kinks, left out |\n|---|---|---|");
    for (op, (checked, kinks)) in &counts {
        println!("| {op} | {checked} | {kinks} |");
    }
    let total: usize = counts.values().map(|c| c.0).sum();
    println!("{cases} cases, {total} entries (an entry counts once per operator of its case)");
    for op in SUPPORTED.iter().filter(|&&op| op != "Constant") {
        if counts.get(*op).is_none_or(|c| c.0 == 0) {
            failures.push(format!("{op}: no gradient entry checked"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
