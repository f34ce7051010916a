//! PyTorch's ONNX exports against onnxruntime: five torchvision models with seeded weights and a small CNN
//! trained on scikit-learn's digits. Data in tests/data/onnx_exports/<model>/, made by
//! tests/reference/onnx_exports.py: a model's large weights are not stored but regenerated here from the
//! recipe (seed, low, high) each initializer carries, with the generator's splitmix64.

mod common;
use common::{npy, read, rel_err};
use prost::Message;
use std::collections::HashMap;
use std::path::PathBuf;
use zfvis_core::engine::{self, backward::backward, Activations};
use zfvis_core::formats::onnx::{self, proto};
use zfvis_core::formats::Model;
use zfvis_core::ndarray::{ArrayD, IxDyn, Slice};
use zfvis_core::ops::{ReluRule, Rules};
use zfvis_core::vis::projection::{project, strongest, Method, Options, Target, Unit};
use zfvis_core::Tensor;

const TOL: f32 = 1e-4;

fn dir(model: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx_exports").join(model)
}

fn manifest(model: &str) -> serde_json::Value {
    serde_json::from_slice(&read(&dir(model).join("manifest.json"))).unwrap()
}

/// `n` values of the recipe: splitmix64 from `seed`, the top 24 bits as u in [0, 1), low + (high − low)·u
/// in f64, rounded once to f32 (tests/reference/onnx_exports.py's `prng`).
fn prng(seed: u64, n: usize, low: f64, high: f64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 40) as f64 / 16_777_216.0;
            (low + (high - low) * u) as f32
        })
        .collect()
}

fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// The model with its seeded initializers filled in (the rest of its data is in the file).
fn load(model: &str) -> zfvis_core::Result<Model> {
    let bytes = read(&dir(model).join("model.onnx"));
    let m = proto::ModelProto::decode(&bytes[..]).unwrap();
    let mut tensors = HashMap::new();
    for t in &m.graph.as_ref().unwrap().initializer {
        if t.data_location != Some(proto::tensor_proto::DataLocation::External as i32) {
            continue;
        }
        let kv: HashMap<&str, &str> = t.external_data.iter().map(|e| (e.key(), e.value())).collect();
        assert_eq!(kv.get("location"), Some(&"zfvis-seeded"), "{}: {kv:?}", t.name());
        let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        let values = prng(
            kv["seed"].parse().unwrap(),
            dims.iter().product(),
            kv["low"].parse().unwrap(),
            kv["high"].parse().unwrap(),
        );
        tensors.insert(t.name().to_string(), ArrayD::from_shape_vec(IxDyn(&dims), values).unwrap());
    }
    onnx::from_proto(m, tensors)
}

/// A tensor from a manifest's {file} or {shape, seed, low, high}.
fn input(model: &str, i: &serde_json::Value) -> Tensor {
    if let Some(file) = i["file"].as_str() {
        return npy(&dir(model).join(file));
    }
    let shape = usizes(&i["shape"]);
    let values = prng(
        i["seed"].as_u64().unwrap(),
        shape.iter().product(),
        i["low"].as_f64().unwrap(),
        i["high"].as_f64().unwrap(),
    );
    ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap()
}

/// Loads and runs the model on its input.
fn run(model: &str) -> Result<(Model, Activations, serde_json::Value), String> {
    let man = manifest(model);
    let m = load(model).map_err(|e| format!("does not load: {e}"))?;
    let acts =
        engine::forward(&m.graph, vec![input(model, &man["input"])]).map_err(|e| format!("forward fails: {e}"))?;
    Ok((m, acts, man))
}

/// Every reference of the model against zfvis; prints each error and the worst, then fails on any problem.
fn check(model: &str) {
    let (m, acts, man) = match run(model) {
        Ok(r) => r,
        Err(e) => panic!("onnx export {model}: {e}"),
    };
    let g = &m.graph;
    let mut problems = Vec::new();
    let mut worst = (0f32, String::new());
    let refs = man["references"].as_array().unwrap();
    for r in refs {
        let name = r["tensor"].as_str().unwrap();
        let Some(ours) = acts.get(g, name) else {
            problems.push(format!("no tensor '{name}'"));
            continue;
        };
        if ours.shape() != usizes(&r["shape"]).as_slice() {
            problems.push(format!("'{name}' has shape {:?}, onnxruntime {}", ours.shape(), r["shape"]));
            continue;
        }
        let step = usizes(&r["step"]);
        let kept = ours.slice_each_axis(|ax| Slice::new(0, None, step[ax.axis.index()] as isize)).to_owned();
        let err = rel_err(&kept, &npy(&dir(model).join(r["file"].as_str().unwrap())));
        println!("onnx export {model} {name}: rel err {err:.2e}");
        if err.is_nan() || err > TOL {
            problems.push(format!("'{name}': rel err {err:.2e}"));
        }
        if err.is_nan() || err > worst.0 {
            worst = (err, name.to_string());
        }
    }
    let logits = acts.get(g, man["output"]["name"].as_str().unwrap()).unwrap();
    let top1: Vec<usize> = logits.outer_iter().map(|row| strongest(row.as_slice().unwrap()).0).collect();
    if top1 != usizes(&man["output"]["top1"]) {
        problems.push(format!("top-1 {top1:?}, onnxruntime {}", man["output"]["top1"]));
    }
    println!(
        "onnx export {model}: {} tensors, worst rel err {:.2e} at '{}', top-1 {top1:?}",
        refs.len(),
        worst.0,
        worst.1
    );
    assert!(problems.is_empty(), "onnx export {model}: {}", problems.join("; "));
}

#[test]
fn prng_matches_the_generator() {
    let c = &manifest("resnet18")["prng_check"];
    let want: Vec<f32> = c["first"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let got = prng(c["seed"].as_u64().unwrap(), want.len(), c["low"].as_f64().unwrap(), c["high"].as_f64().unwrap());
    assert_eq!(got, want);
}

#[test]
fn alexnet_matches_onnxruntime() {
    check("alexnet");
}

#[test]
fn vgg11_matches_onnxruntime() {
    check("vgg11");
}

#[test]
fn resnet18_matches_onnxruntime() {
    check("resnet18");
}

#[test]
fn squeezenet1_1_matches_onnxruntime() {
    check("squeezenet1_1");
}

#[test]
fn mobilenet_v2_matches_onnxruntime() {
    check("mobilenet_v2");
}

#[test]
fn digits_cnn_matches_onnxruntime() {
    check("digits_cnn");
}

/// A backward pass from the last convolution's strongest unit reaches the input through the residual
/// Adds, under every ReLU rule, with a finite, non-zero signal.
#[test]
fn resnet18_backward_from_last_conv() {
    let (m, acts, man) = run("resnet18").unwrap_or_else(|e| panic!("onnx export resnet18: {e}"));
    let g = &m.graph;
    let last = man["projection"]["last_conv"].as_str().unwrap();
    let start = g.value_id(last).unwrap_or_else(|| panic!("no tensor '{last}'"));
    let a = &acts.values[start];
    let (&[n, c, h, w], flat) = (a.shape(), a.as_slice().unwrap()) else { panic!("{:?}", a.shape()) };
    assert_eq!(n, 1);
    let (channel, (at, value)) = (0..c)
        .map(|k| (k, strongest(&flat[k * h * w..(k + 1) * h * w])))
        .fold((0, (0, f32::NEG_INFINITY)), |best, x| if x.1 .1 > best.1 .1 { x } else { best });
    let mut seed = vec![0f32; flat.len()];
    seed[channel * h * w + at] = 1.0;
    let signal = ArrayD::from_shape_vec(IxDyn(a.shape()), seed).unwrap();
    for relu in [ReluRule::Gradient, ReluRule::Deconvnet, ReluRule::Guided] {
        let grads = backward(g, &acts, start, signal.clone(), Rules { relu, lrn_gradient: true }).unwrap();
        let x = grads[g.inputs[0].0].as_ref().expect("no signal reached the input");
        let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        println!("resnet18 {relu:?} from {last} channel {channel} (value {value}): max |input signal| {max:.3e}");
        assert!(x.iter().all(|v| v.is_finite()), "{relu:?}: non-finite input signal");
        assert!(max > 0.0, "{relu:?}: zero input signal");
    }
}

/// The saliency of the top-1 logit against torch autograd on a port of the same folded network, for the
/// 64×64 image the generator picked so that no unit sits within rounding of a ReLU's or a max pooling's
/// branch point.
#[test]
fn resnet18_saliency_matches_torch() {
    let man = manifest("resnet18");
    let m = load("resnet18").unwrap_or_else(|e| panic!("onnx export resnet18: does not load: {e}"));
    let s = &man["projection"]["saliency"];
    let acts = engine::forward(&m.graph, vec![input("resnet18", &s["input"])]).unwrap();
    let class = s["class"].as_u64().unwrap() as usize;
    let logits = acts.get(&m.graph, s["target"].as_str().unwrap()).unwrap();
    assert_eq!(strongest(logits.as_slice().unwrap()).0, class, "top-1");
    let target = Target { value: s["target"].as_str().unwrap().into(), channel: class, unit: Unit::Max };
    let ours = project(&m.graph, &acts, &target, Method::Saliency, Options::default()).unwrap();
    let want = npy(&dir("resnet18").join(s["file"].as_str().unwrap()));
    let err = rel_err(&ours, &want);
    // The saliency peaks near 3e-3, so max(1, ·) would hide everything: also held against its own peak.
    let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let of_peak = ours.iter().zip(want.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / peak;
    println!("resnet18 saliency of logit {class}: rel err {err:.2e}, {of_peak:.2e} of its peak {peak:.2e}");
    assert!(err <= TOL && of_peak <= TOL, "{err} {of_peak}");
}
