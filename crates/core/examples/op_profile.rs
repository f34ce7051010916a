//! Per-node forward times of a model: each node run alone on its real inputs, best of several runs.
//! `cargo run --release -p zfvis-core --example op_profile -- model.onnx [runs]`
//! (or `-- net.prototxt weights.caffemodel [runs]`).

use std::time::Instant;
use zfvis_core::{engine, formats, Tensor};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let (model, rest) = if args[0].ends_with(".onnx") {
        (formats::onnx::load(&read(&args[0])).unwrap(), &args[1..])
    } else {
        (formats::caffe::load(&read(&args[0]), &read(&args[1])).unwrap(), &args[2..])
    };
    let runs: usize = rest.first().and_then(|r| r.parse().ok()).unwrap_or(50);
    let graph = &model.graph;
    let inputs: Vec<Tensor> =
        graph.default_input_shapes().iter().map(|s| Tensor::from_elem(s.as_slice(), 0.5)).collect();
    let acts = engine::forward(graph, inputs.clone()).unwrap();
    let time = |f: &mut dyn FnMut()| {
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let whole = time(&mut || drop(engine::forward(graph, inputs.clone()).unwrap()));
    let mut sum = 0.0;
    for node in &graph.nodes {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&v| &acts.values[v]).collect();
        let ms = time(&mut || drop(node.op.forward(&ins, node.weights(), node.outputs.len()).unwrap()));
        sum += ms;
        println!("{:>10.3} ms  {:<24} {}", ms, node.name, node.type_name);
    }
    println!("{sum:>10.3} ms  sum of nodes; whole forward pass {whole:.3} ms");
}
