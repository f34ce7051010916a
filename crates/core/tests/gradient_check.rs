//! Every layer's backward, for its inputs and its weights, against central finite differences in f64:
//! each node of the committed Caffe layer nets (tests/data/caffe_layers) and of the ONNX node cases
//! (tests/data/onnx_node, onnx_opsets) runs alone in f64 on the inputs the f32 forward pass gave it
//! (jittered so that no value sits on a ReLU edge or a max-pooling tie), and d(Σ r⊙outputs)/d(entry) is
//! compared at sampled entries of every input and weight blob.
//!
//! Error of an entry: |analytic − numeric| / max(|numeric|, 1e-3 · the largest |numeric| of its tensor),
//! which must stay below 1e-6. Entries where the two one-sided differences disagree (a kink still within
//! reach of the step) are counted and left out.

mod common;
mod onnx_cases;
use common::{npy, read};
use std::collections::BTreeMap;
use std::path::PathBuf;
use zfvis_core::engine;
use zfvis_core::formats::caffe;
use zfvis_core::graph::Graph;
use zfvis_core::ops::{Op, ReluRule, Rules};
use zfvis_core::Tensor;

const SAMPLES: usize = 16;
const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

struct Rand(u64);

impl Rand {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    fn index(&mut self, len: usize) -> usize {
        ((self.next() + 1.0) / 2.0 * len as f64) as usize % len
    }
}

/// The op's variant name ("Conv", "Pool", …).
fn kind(op: &Op) -> String {
    format!("{op:?}").split(['(', ' ', '{']).next().unwrap().to_string()
}

#[derive(Default)]
struct Tally {
    checked: usize,
    weights: usize,
    kinks: usize,
    worst: f64,
}

/// Checks one node in f64; returns failures.
fn check_node(graph: &Graph, acts: &engine::Activations, i: usize, rand: &mut Rand, tally: &mut Tally) -> Vec<String> {
    let node = &graph.nodes[i];
    let to64 = |t: &Tensor| t.mapv(|v| v as f64);
    // Integer-valued inputs (indices, shapes) stay as they are; others move off ties and edges.
    let ins: Vec<Tensor<f64>> = node
        .inputs
        .iter()
        .map(|&v| {
            let x = to64(&acts.values[v]);
            if x.iter().all(|v| v.fract() == 0.0) && x.iter().any(|v| *v != 0.0) {
                x
            } else {
                x.mapv(|v| v + 1e-3 * (1.0 + v.abs()) * rand.next())
            }
        })
        .collect();
    let weights: Vec<Tensor<f64>> = node.weights().iter().map(to64).collect();
    let n_out = node.outputs.len();
    let run = |ins: &[Tensor<f64>], weights: &[Tensor<f64>]| {
        let refs: Vec<&Tensor<f64>> = ins.iter().collect();
        node.op.forward(&refs, weights, n_out).unwrap()
    };
    let out = run(&ins, &weights);
    // Max pooling's second output (indices) carries no gradient.
    let signals: Vec<Option<Tensor<f64>>> = out
        .tensors
        .iter()
        .enumerate()
        .map(|(k, t)| (k == 0 || !matches!(node.op, Op::Pool(_))).then(|| t.mapv(|_| rand.next())))
        .collect();
    // Σ r⊙(outputs − base outputs): the differences first, so that the unchanged outputs cancel exactly.
    let loss = |ins: &[Tensor<f64>], weights: &[Tensor<f64>]| -> f64 {
        let o = run(ins, weights);
        let terms = o.tensors.iter().zip(&out.tensors).zip(&signals);
        terms.filter_map(|((t, t0), r)| r.as_ref().map(|r| ((t - t0) * r).sum())).sum()
    };
    let rules = Rules { relu: ReluRule::Gradient, lrn_gradient: true };
    let refs: Vec<&Tensor<f64>> = ins.iter().collect();
    let outs: Vec<&Tensor<f64>> = out.tensors.iter().collect();
    let gs: Vec<Option<&Tensor<f64>>> = signals.iter().map(|s| s.as_ref()).collect();
    let dins = node.op.backward(rules, &refs, &outs, &gs, &weights, out.switches.as_ref()).unwrap();
    let dweights = node.op.weight_backward(&refs, signals[0].as_ref().unwrap(), &weights).unwrap();
    let name = format!("{} ({})", node.name, node.type_name);
    let mut failures = vec![];
    // (is a weight, index, analytic)
    let targets = dins
        .into_iter()
        .enumerate()
        .map(|(k, d)| (false, k, d))
        .chain(dweights.into_iter().enumerate().map(|(k, d)| (true, k, d)));
    for (is_weight, k, analytic) in targets {
        let Some(analytic) = analytic else { continue };
        let base = if is_weight { &weights[k] } else { &ins[k] };
        let analytic = analytic.as_standard_layout().into_owned();
        assert_eq!(analytic.shape(), base.shape(), "{name}: gradient shape");
        let len = base.len();
        let picks: Vec<usize> = if len <= SAMPLES { (0..len).collect() } else { (0..SAMPLES).map(|_| rand.index(len)).collect() };
        let mut numeric = vec![];
        for &at in &picks {
            let moved = |delta: f64| {
                let (mut ins, mut weights) = (ins.clone(), weights.clone());
                let t = if is_weight { &mut weights[k] } else { &mut ins[k] };
                t.as_slice_mut().unwrap()[at] += delta;
                loss(&ins, &weights)
            };
            let (up, mid, down) = (moved(STEP), moved(0.0), moved(-STEP));
            let (right, left) = ((up - mid) / STEP, (mid - down) / STEP);
            numeric.push(((up - down) / (2.0 * STEP), (right - left).abs()));
        }
        let scale = numeric.iter().fold(0f64, |m, (n, _)| m.max(n.abs()));
        for (&at, &(n, spread)) in picks.iter().zip(&numeric) {
            let a = analytic.as_slice().unwrap()[at];
            // A kink: the one-sided slopes differ by far more than rounding explains.
            if spread > 1e-3 * scale.max(1e-12) {
                tally.kinks += 1;
                continue;
            }
            let err = (a - n).abs() / n.abs().max(1e-3 * scale).max(1e-300);
            tally.worst = tally.worst.max(err);
            tally.checked += 1;
            tally.weights += is_weight as usize;
            if err > TOLERANCE {
                let what = if is_weight { "weights" } else { "input" };
                failures.push(format!("{name} d/d({what} {k})[{at}]: analytic {a:e}, numeric {n:e}, error {err:.2e}"));
            }
        }
    }
    failures
}

#[test]
fn every_layer_backward_matches_finite_differences_in_f64() {
    let mut graphs: Vec<(String, Graph, Vec<Tensor>)> = vec![];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/caffe_layers");
    let m: serde_json::Value = serde_json::from_slice(&read(&dir.join("manifest.json"))).unwrap();
    for (net, entry) in m["nets"].as_object().unwrap() {
        let file = |k: &str| dir.join(entry[k].as_str().unwrap());
        let g = caffe::load(&read(&file("prototxt")), &read(&file("caffemodel"))).unwrap().graph;
        graphs.push((format!("caffe_layers/{net}"), g, vec![npy(&file("input"))]));
    }
    for folder in ["onnx_node", "onnx_opsets"] {
        for name in onnx_cases::manifest(folder)["cases"].as_object().unwrap().keys() {
            // Cases that do not load are the node suite's known failures.
            let Ok(case) = onnx_cases::load_case(&onnx_cases::data_dir(folder).join(name)) else { continue };
            graphs.push((format!("{folder}/{name}"), case.model.graph, case.feeds));
        }
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = vec![];
    let mut rand = Rand(7);
    for (source, g, feeds) in &graphs {
        let Ok(acts) = engine::forward(g, feeds.clone()) else { continue };
        for i in 0..g.nodes.len() {
            let tally = tallies.entry(kind(&g.nodes[i].op)).or_default();
            failures.extend(check_node(g, &acts, i, &mut rand, tally).into_iter().map(|f| format!("{source}: {f}")));
        }
    }
    println!("\n| op | entries checked | of them weights | at kinks, left out | worst error |\n|---|---|---|---|---|");
    for (op, t) in &tallies {
        println!("| {op} | {} | {} | {} | {:.1e} |", t.checked, t.weights, t.kinks, t.worst);
    }
    for (op, t) in &tallies {
        if t.checked == 0 {
            failures.push(format!("{op}: no entry checked"));
        }
    }
    // Every op with learned weights had its weight gradient checked.
    for op in ["Conv", "InnerProduct", "Activation", "Scale", "Binary", "MatMul", "Gemm"] {
        if tallies.get(op).is_none_or(|t| t.weights == 0) {
            failures.push(format!("{op}: no weight gradient checked"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn softmax_with_loss_gradient_matches_finite_differences_in_f64() {
    use zfvis_core::train::SoftmaxWithLoss;
    let mut rand = Rand(3);
    // N×C and N×C×H×W scores, with and without an ignored label.
    for (shape, ignore) in [(vec![8, 10], None), (vec![2, 5, 3, 2], None), (vec![6, 4], Some(2i64))] {
        let scores = Tensor::<f64>::from_shape_fn(shape.clone(), |_| 3.0 * rand.next());
        let positions = scores.len() / shape[1];
        let labels: Vec<f32> = (0..positions).map(|_| rand.index(shape[1]) as f32).collect();
        let layer = SoftmaxWithLoss { ignore_label: ignore };
        let (_, grad) = layer.forward_backward(&scores, &labels).unwrap();
        let scale = grad.iter().fold(0f64, |m, g| m.max(g.abs()));
        for at in 0..scores.len() {
            let moved = |delta: f64| {
                let mut s = scores.clone();
                s.as_slice_mut().unwrap()[at] += delta;
                layer.forward_backward(&s, &labels).unwrap().0
            };
            let numeric = (moved(STEP) - moved(-STEP)) / (2.0 * STEP);
            let a = grad.as_slice().unwrap()[at];
            let err = (a - numeric).abs() / numeric.abs().max(1e-3 * scale);
            assert!(err < TOLERANCE, "{shape:?} entry {at}: analytic {a:e}, numeric {numeric:e}, error {err:.2e}");
        }
    }
}
