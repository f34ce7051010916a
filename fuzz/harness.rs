//! What each fuzz target does with its input, shared with the regression test
//! (crates/core/tests/fuzz_regressions.rs), which replays fuzz/regressions/<target>/* through `run`.
//! Each returns the first error the input met; Ok when it was accepted (or skipped as too big to try).

use zfvis_core::formats::caffe::proto::{LayerParameter, NetParameter};
use zfvis_core::formats::caffe::weights::{Blob, BlobMap};
use zfvis_core::formats::caffe::{self, layers::op_for, net, prototxt};
use zfvis_core::formats::{onnx, Model};
use zfvis_core::{engine, ops, summary, Result};

/// The targets `run` knows.
#[allow(dead_code)]
pub const TARGETS: &[&str] = &["prototxt", "caffemodel", "caffe_h5", "mean_binaryproto", "onnx", "caffe_graph"];

pub fn run(target: &str, data: &[u8]) -> Result<()> {
    match target {
        "prototxt" => prototxt_target(data),
        "caffemodel" => caffemodel(data),
        "caffe_h5" => caffe::h5::read(data).map(drop),
        "mean_binaryproto" => caffe::read_mean(data).map(drop),
        "onnx" => onnx::load(data).and_then(|m| summarize(&m)).map(drop),
        "caffe_graph" => caffe_graph(data),
        _ => panic!("no fuzz target {target}"),
    }
}

/// Largest value (in elements) a summary is asked about. KNOWN OPEN (fuzz/open/onnx): a Resize to
/// ~500M elements takes seconds in the summary (2.2 s natively, past the 10 s timeout under ASan).
const SUMMARY_MAX_ELEMENTS: usize = 1 << 26;

/// Shape inference, then the summary (MACs, memory, receptive fields) unless a value is over the bound.
fn summarize(model: &Model) -> Result<Option<summary::Summary>> {
    let g = &model.graph;
    let shapes = engine::infer_shapes(g, &g.default_input_shapes())?;
    if shapes.iter().any(|s| s.iter().product::<usize>() > SUMMARY_MAX_ELEMENTS) {
        return Ok(None);
    }
    summary::summarize(model).map(Some)
}

/// A text .prototxt: parsed, V1 layers upgraded, each layer's parameters turned into an op.
fn prototxt_target(data: &[u8]) -> Result<()> {
    let net = prototxt::parse_text(data)?;
    let (layers, _v1) = prototxt::layers(&net)?;
    layers.iter().try_for_each(|l| op_for(l).map(drop))
}

const TINY: &str = include_str!("nets/tiny.prototxt");
const LENET: &str = include_str!("../crates/core/src/train/nets/lenet_train_test.prototxt");

/// Weights (binary V1/V2 .caffemodel, or .h5): decoded, then loaded with two fixed prototxts (the corpus
/// generator's tiny net and the committed LeNet) and summarized. Also read as a binary NetParameter.
fn caffemodel(data: &[u8]) -> Result<()> {
    let _ = prototxt::parse_binary(data);
    caffe::weights::read(data)?;
    let mut last = Ok(());
    for net in [TINY, LENET] {
        last = caffe::load(net.as_bytes(), data).and_then(|m| summarize(&m)).map(drop);
    }
    last
}

/// Weights of all layers together, in f32 values, that the graph target makes.
const MAX_WEIGHTS: usize = 1 << 20;

/// Graph building from a prototxt, with weights made of exactly the shapes the net implies (so the
/// fuzzer need not guess them): built, summarized (shape inference, MACs, receptive fields) and, for a
/// tiny net, run forward.
fn caffe_graph(data: &[u8]) -> Result<()> {
    let net = prototxt::parse_text(data)?;
    let (layers, v1) = prototxt::layers(&net)?;
    let Some(blobs) = weights_for(&net, &layers)? else { return Ok(()) };
    let (graph, notes, transform) = net::build(&net, &layers, blobs)?.finish()?;
    graph.prepare();
    let model = Model { graph, format: format!("fuzz (V1: {v1})"), notes, transform };
    let Some(s) = summarize(&model)? else { return Ok(()) };
    // A forward pass only for small nets: the fuzzer is after bad parameters, not slow ones.
    let inputs = model.graph.default_input_shapes();
    let elements: usize = inputs.iter().map(|s| s.iter().product::<usize>()).sum();
    if elements <= 4096 && s.totals.macs <= 1 << 20 && s.totals.activation_bytes <= 16 << 20 {
        let tensors = inputs.iter().map(|s| ops::tensor(s, vec![0.5f32; s.iter().product()])).collect();
        engine::forward(&model.graph, tensors)?;
    }
    Ok(())
}

/// Blobs of the shapes each layer's op asks for, following shapes through the net built without
/// weights; None when they would be too big.
fn weights_for(net: &NetParameter, layers: &[LayerParameter]) -> Result<Option<BlobMap>> {
    let draft = net::build(net, layers, BlobMap::new())?;
    let g = &draft.graph;
    let mut shapes: Vec<Option<Vec<usize>>> = vec![None; g.values.len()];
    for (id, s) in &g.inputs {
        // An undeclared (data layer) input: guess a CIFAR-sized image.
        let mut s = if s.is_empty() { vec![1, 3, 32, 32] } else { s.clone() };
        s[0] = 1;
        shapes[*id] = Some(s);
    }
    let mut blobs = BlobMap::new();
    let mut total = 0usize;
    for node in &g.nodes {
        let ins: Vec<&[usize]> = node.inputs.iter().map(|&v| shapes[v].as_deref().unwrap_or(&[])).collect();
        let mut weights = Vec::new();
        for shape in node.op.weight_shapes(ins[0])? {
            let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            match n.and_then(|n| total.checked_add(n)).filter(|&t| t <= MAX_WEIGHTS) {
                Some(t) => total = t,
                None => return Ok(None),
            }
            let n = shape.iter().product();
            weights.push(Blob { shape, legacy: false, data: vec![0.01; n] });
        }
        let tensors: Vec<_> = weights.iter().map(|b| ops::tensor(&b.shape, b.data.clone())).collect();
        let outs = node.op.output_shapes(&ins, node.outputs.len(), &tensors)?;
        for (&v, s) in node.outputs.iter().zip(outs) {
            shapes[v] = Some(s);
        }
        if !weights.is_empty() {
            blobs.insert(node.name.clone(), weights);
        }
    }
    Ok(Some(blobs))
}
