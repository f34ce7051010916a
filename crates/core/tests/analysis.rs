//! Parameters and multiply-accumulates against independent counters (tests/data/graphs/stats.json, made
//! by tests/reference/model_stats.py): fvcore on the torchvision models, OpenCV dnn on the Caffe nets,
//! onnx shape inference and the script's own count on ZFNet-512. Exact integers, per model and per layer.

mod common;
use common::{read, shared};
use prost::Message;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use zfvis_core::formats::onnx::{self, proto};
use zfvis_core::formats::{caffe, Model};
use zfvis_core::ndarray::{ArrayD, IxDyn};
use zfvis_core::summary::{summarize, Summary};

fn graphs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/graphs")
}

fn stats() -> serde_json::Value {
    serde_json::from_slice(&read(&graphs().join("stats.json"))).unwrap()
}

/// A committed weightless graph with zeros for its removed initializers.
fn weightless(name: &str) -> Model {
    let mut m = proto::ModelProto::decode(&read(&graphs().join(format!("{name}.onnx")))[..]).unwrap();
    let removed: serde_json::Value =
        serde_json::from_slice(&read(&graphs().join(format!("{name}.weights.json")))).unwrap();
    let mut tensors = HashMap::new();
    for w in removed.as_array().unwrap() {
        let name = w["name"].as_str().unwrap().to_string();
        let dims: Vec<i64> = w["dims"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        m.graph.as_mut().unwrap().initializer.push(proto::TensorProto {
            name: Some(name.clone()),
            dims: dims.clone(),
            data_type: Some(proto::tensor_proto::DataType::Float as i32),
            ..Default::default()
        });
        let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
        tensors.insert(name, ArrayD::zeros(IxDyn(&shape)));
    }
    onnx::from_proto(m, tensors).unwrap()
}

/// Our figures against the counter's, per layer and in total; returns the problems.
fn compare(model: &str, s: &Summary, want: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let count = |v: &serde_json::Value| v.as_u64().unwrap();
    for l in want["layers"].as_array().unwrap() {
        let name = l["name"].as_str().unwrap();
        let Some(row) = s.layers.iter().find(|r| r.name == name) else {
            // OpenCV and the ONNX list count layers zfvis folds away or drops (none with parameters or MACs).
            if count(&l["params"]) + count(&l["macs"]) > 0 {
                problems.push(format!("{model}: no layer '{name}'"));
            }
            continue;
        };
        if row.params as u64 != count(&l["params"]) || row.macs != count(&l["macs"]) {
            problems.push(format!(
                "{model} {name}: params {} MACs {}, counter {} {}",
                row.params, row.macs, l["params"], l["macs"]
            ));
        }
    }
    if s.totals.params != count(&want["params"]) || s.totals.macs != count(&want["macs"]) {
        problems.push(format!(
            "{model}: total params {} MACs {}, counter {} {}",
            s.totals.params, s.totals.macs, want["params"], want["macs"]
        ));
    }
    problems
}

fn row(model: &str, s: &Summary, want: &serde_json::Value) {
    println!(
        "{model:<14} {:>12} {:>12} {:>16} {:>16}  {}",
        s.totals.params, want["params"], s.totals.macs, want["macs"], want["counter"]
    );
}

#[test]
fn onnx_graphs_match_the_counters() {
    let all = stats();
    let mut problems = Vec::new();
    println!("{:<14} {:>12} {:>12} {:>16} {:>16}  counter", "model", "params", "counter", "MACs", "counter");
    for model in ["alexnet", "vgg16", "resnet18", "squeezenet1_1", "googlenet", "zfnet512"] {
        let want = &all[model];
        let s = summarize(&weightless(model)).unwrap();
        row(model, &s, want);
        problems.extend(compare(model, &s, want));
        if let Some(folded) = want["folded_bn_channels"].as_u64() {
            // The counter's parameters less one value per channel of each BatchNorm folded into a conv.
            assert_eq!(want["params"].as_u64().unwrap(), want["counter_params"].as_u64().unwrap() - folded);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let zf = all["zfnet512"]["macs"].as_u64().unwrap();
    assert_eq!(format!("{:.2}", zf as f64 / 1e9), "1.48", "ZFNet-512 has 1.48 G MACs");
}

#[test]
fn caffe_nets_match_opencv() {
    let Some(sh) = shared() else { return };
    let all = stats();
    let dir = sh.join("fixtures/caffe");
    let mut problems = Vec::new();
    for (model, net, weights) in [
        ("cifar10_quick", "cifar10_quick/cifar10_quick.prototxt", "cifar10_quick/cifar10_quick_iter_4000.caffemodel"),
        ("lenet", "lenet/lenet.prototxt", "lenet/lenet_iter_10000.caffemodel"),
    ] {
        let m = caffe::load(&read(&dir.join(net)), &read(&dir.join(weights))).unwrap();
        let s = summarize(&m).unwrap();
        row(model, &s, &all[model]);
        problems.extend(compare(model, &s, &all[model]));
        if model == "cifar10_quick" {
            assert_eq!(format!("{:.2}", s.totals.macs as f64 / 1e6), "12.35", "cifar10_quick has 12.35 M MACs");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn totals_and_types_add_up() {
    let s = summarize(&weightless("resnet18")).unwrap();
    let sum = |f: fn(&zfvis_core::summary::TypeTotals) -> u64| s.by_type.iter().map(f).sum::<u64>();
    assert_eq!(sum(|t| t.params), s.totals.params);
    assert_eq!(sum(|t| t.macs), s.totals.macs);
    assert_eq!(sum(|t| t.activation_bytes), s.totals.activation_bytes);
    assert_eq!(s.by_type.iter().map(|t| t.count).sum::<usize>(), s.layers.len());
    assert_eq!(s.totals.params, s.params as u64);
    let conv = s.by_type.iter().find(|t| t.type_name == "Conv").unwrap();
    assert_eq!(conv.count, 20);
    // conv1: 64×112×112 f32 outputs; a 7×7 window with stride 2 and padding 3.
    let conv1 = s.layers.iter().find(|l| l.name == "/conv1/Conv").unwrap();
    assert_eq!(conv1.activation_bytes, 4 * 64 * 112 * 112);
    let json = serde_json::to_value(conv1).unwrap();
    assert_eq!(json["receptiveField"], serde_json::json!({"size": [7, 7], "jump": [2, 2], "start": [-3, -3]}));
    assert_eq!(json["activationBytes"], 4 * 64 * 112 * 112);
    // After the global pool every unit sees the whole image and more; after Flatten there is no layout.
    let gap = s.layers.iter().find(|l| l.type_name == "GlobalAveragePool").unwrap();
    assert!(gap.receptive_field.unwrap().size[0] > 224.0);
    assert!(s.layers.iter().find(|l| l.type_name == "Flatten").unwrap().receptive_field.is_none());
    let top = serde_json::to_value(&s).unwrap();
    assert!(top["totals"]["activationBytes"].is_u64() && top["byType"][0]["type"].is_string());
}

/// A Caffe net of `blocks` residual blocks (conv, relu, conv, eltwise sum, relu): 5 layers each.
fn residual_tower(blocks: usize) -> Model {
    use zfvis_core::formats::caffe::proto;
    let mut net = String::from(
        "name: \"tower\" input: \"data\" input_shape { dim: 1 dim: 8 dim: 32 dim: 32 }\n\
         layer { name: \"b0\" type: \"ReLU\" bottom: \"data\" top: \"b0\" }\n",
    );
    let mut layers = Vec::new();
    let conv = |name: &str, from: &str| {
        let text = format!(
            "layer {{ name: \"{name}\" type: \"Convolution\" bottom: \"{from}\" top: \"{name}\" \
             convolution_param {{ num_output: 8 kernel_size: 3 pad: 1 }} }}\n"
        );
        let blob = |dim: Vec<i64>| proto::BlobProto {
            data: vec![0.0; dim.iter().product::<i64>() as usize],
            shape: Some(proto::BlobShape { dim }),
            ..Default::default()
        };
        let layer = proto::LayerParameter {
            name: Some(name.into()),
            blobs: vec![blob(vec![8, 8, 3, 3]), blob(vec![8])],
            ..Default::default()
        };
        (text, layer)
    };
    for i in 1..=blocks {
        let (a, b) = (conv(&format!("c{i}a"), &format!("b{}", i - 1)), conv(&format!("c{i}b"), &format!("r{i}a")));
        net += &a.0;
        net += &format!("layer {{ name: \"r{i}a\" type: \"ReLU\" bottom: \"c{i}a\" top: \"r{i}a\" }}\n");
        net += &b.0;
        net += &format!(
            "layer {{ name: \"s{i}\" type: \"Eltwise\" bottom: \"b{}\" bottom: \"c{i}b\" top: \"s{i}\" }}\n\
             layer {{ name: \"b{i}\" type: \"ReLU\" bottom: \"s{i}\" top: \"b{i}\" }}\n",
            i - 1
        );
        layers.extend([a.1, b.1]);
    }
    let weights = proto::NetParameter { layer: layers, ..Default::default() };
    caffe::load(net.as_bytes(), &weights.encode_to_vec()).unwrap()
}

#[test]
fn large_graphs_are_summarized_fast() {
    let m = residual_tower(60);
    assert!(m.graph.nodes.len() > 300, "{} nodes", m.graph.nodes.len());
    let t = Instant::now();
    let s = summarize(&m).unwrap();
    let took = t.elapsed();
    println!("{} layers summarized in {took:?}", s.layers.len());
    assert!(took.as_secs_f64() < 1.0, "{took:?}");
    // 120 convolutions of 8×3×3 inputs at 8×32×32 outputs; every 3×3 conv widens the field by 2.
    assert_eq!(s.totals.macs, 120 * 8 * 32 * 32 * 72);
    let last = s.layers.last().unwrap().receptive_field.unwrap();
    assert_eq!((last.size, last.jump, last.start), ([241.0; 2], [1.0; 2], [-120.0; 2]));
    let g = summarize(&weightless("googlenet")).unwrap();
    let t = Instant::now();
    summarize(&weightless("googlenet")).unwrap();
    println!("GoogLeNet ({} layers) loaded and summarized in {:?}", g.layers.len(), t.elapsed());
}
