//! A Caffe train_test prototxt read for training (formats::caffe::train_net): the built-in LeNet and
//! CIFAR-10 quick nets (train::nets), the BVLC fixture, and the nets it refuses.

mod common;

use zfvis_core::engine::infer_shapes;
use zfvis_core::error::ErrorKind;
use zfvis_core::formats::caffe::proto::{loss_parameter::NormalizationMode, Phase};
use zfvis_core::formats::caffe::train_net::{DataSource, Phases, TrainNet};
use zfvis_core::train::nets::{self, CIFAR10_QUICK_TRAIN_TEST, LENET_TRAIN_TEST};
use zfvis_core::train::{Accuracy, LrPolicy, SoftmaxWithLoss, Solver};
use zfvis_core::Tensor;

fn names(net: &TrainNet) -> Vec<&str> {
    net.graph.nodes.iter().map(|n| n.name.as_str()).collect()
}

/// The shape of each node's first output.
fn output_shapes(net: &TrainNet) -> Vec<(String, Vec<usize>)> {
    let shapes = infer_shapes(&net.graph, &[net.input_shape().to_vec()]).unwrap();
    net.graph.nodes.iter().map(|n| (n.name.clone(), shapes[n.outputs[0]].clone())).collect()
}

fn weights(net: &TrainNet, layer: &str) -> Vec<Tensor> {
    net.graph.node(layer).unwrap_or_else(|| panic!("no node {layer}")).weights().to_vec()
}

fn stats(t: &Tensor) -> (f64, f64, f32, f32) {
    let n = t.len() as f64;
    let mean = t.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = t.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    let min = t.iter().copied().fold(f32::INFINITY, f32::min);
    let max = t.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (mean, var.sqrt(), min, max)
}

/// Checks a xavier-filled blob: uniform in ±√(3 / fan_in).
fn check_xavier(t: &Tensor, fan_in: usize) {
    let s = (3.0 / fan_in as f64).sqrt();
    let (mean, std, min, max) = stats(t);
    assert!(min as f64 >= -s && max as f64 <= s, "outside ±{s}: {min}..{max}");
    assert!(min as f64 <= -0.9 * s && max as f64 >= 0.9 * s, "does not span ±{s}: {min}..{max}");
    // Uniform on [−s, s]: std s/√3.
    let want = s / 3f64.sqrt();
    assert!((std - want).abs() < 0.1 * want, "std {std}, want {want}");
    assert!(mean.abs() < 5.0 * want / (t.len() as f64).sqrt(), "mean {mean}");
}

fn check_gaussian(t: &Tensor, want: f64) {
    let (mean, std, _, _) = stats(t);
    // The sample std's own spread is about std / √(2n): allow five of it.
    let tol = 5.0 / (2.0 * t.len() as f64).sqrt();
    assert!((std - want).abs() < tol * want, "std {std}, want {want}");
    assert!(mean.abs() < 5.0 * want / (t.len() as f64).sqrt(), "mean {mean}, std {want}");
}

fn zeros(t: &Tensor) -> bool {
    t.iter().all(|&x| x == 0.0)
}

fn data(layer: &str, phase: Phase, source: &str, batch_size: usize, scale: f32, mean_file: Option<&str>) -> DataSource {
    DataSource {
        layer: layer.into(),
        phase,
        top: "data".into(),
        label: "label".into(),
        source: source.into(),
        batch_size,
        backend: "LMDB".into(),
        scale,
        mean_file: mean_file.map(String::from),
        mean_values: vec![],
        mirror: false,
        crop_size: 0,
    }
}

#[test]
fn lenet() {
    let net = TrainNet::build(LENET_TRAIN_TEST.as_bytes(), [1, 28, 28], 1).unwrap();
    assert_eq!(names(&net), ["conv1", "pool1", "conv2", "pool2", "ip1", "relu1", "ip2"]);
    assert_eq!(net.input_shape(), [64, 1, 28, 28]);
    assert_eq!(net.graph.values[net.graph.inputs[0].0].name, "data");
    let shapes = output_shapes(&net);
    let want: &[(&str, &[usize])] = &[
        ("conv1", &[64, 20, 24, 24]),
        ("pool1", &[64, 20, 12, 12]),
        ("conv2", &[64, 50, 8, 8]),
        ("pool2", &[64, 50, 4, 4]),
        ("ip1", &[64, 500]),
        ("relu1", &[64, 500]),
        ("ip2", &[64, 10]),
    ];
    for ((name, shape), (wn, ws)) in shapes.iter().zip(want) {
        assert_eq!((name.as_str(), shape.as_slice()), (*wn, *ws));
    }

    assert_eq!(net.train, data("mnist", Phase::Train, "examples/mnist/mnist_train_lmdb", 64, 0.00390625, None));
    assert_eq!(net.test, Some(data("mnist", Phase::Test, "examples/mnist/mnist_test_lmdb", 100, 0.00390625, None)));

    let ip2 = net.graph.node("ip2").unwrap().outputs[0];
    assert_eq!(net.loss.name, "loss");
    assert_eq!((net.loss.bottom.as_str(), net.loss.value, net.loss.label.as_str()), ("ip2", ip2, "label"));
    assert_eq!(net.loss.loss_weight, 1.0);
    assert_eq!(net.loss.normalization, NormalizationMode::Valid);
    assert_eq!(net.loss.loss, SoftmaxWithLoss { ignore_label: None });
    assert_eq!(net.loss.phases, Phases { train: true, test: true });
    assert_eq!(net.accuracy.len(), 1);
    let a = &net.accuracy[0];
    assert_eq!((a.name.as_str(), a.bottom.as_str(), a.value, a.label.as_str()), ("accuracy", "ip2", ip2, "label"));
    assert_eq!(a.accuracy, Accuracy { top_k: 1, ignore_label: None });
    assert_eq!(a.phases, Phases { train: false, test: true });

    let lr = vec![(1.0, 1.0), (2.0, 1.0)];
    assert_eq!(net.mults, [lr.clone(), vec![], lr.clone(), vec![], lr.clone(), vec![], lr]);
    assert!(net.dropout.is_empty());

    // Xavier weights (fan_in = count / num_output), zero biases.
    let expect = [
        ("conv1", vec![20, 1, 5, 5], 25),
        ("conv2", vec![50, 20, 5, 5], 500),
        ("ip1", vec![500, 800], 800),
        ("ip2", vec![10, 500], 500),
    ];
    for (layer, shape, fan_in) in expect {
        let w = weights(&net, layer);
        assert_eq!(w.len(), 2, "{layer}");
        assert_eq!(w[0].shape(), shape.as_slice(), "{layer}");
        assert_eq!(w[1].shape(), [shape[0]], "{layer}");
        check_xavier(&w[0], fan_in);
        assert!(zeros(&w[1]), "{layer} bias");
    }
    // conv1 explicitly: ±√(3/25).
    let (_, _, min, max) = stats(&weights(&net, "conv1")[0]);
    assert!(min >= -(0.12f32).sqrt() && max <= (0.12f32).sqrt());
}

#[test]
fn cifar10_quick() {
    let net = TrainNet::build(CIFAR10_QUICK_TRAIN_TEST.as_bytes(), [3, 32, 32], 7).unwrap();
    assert_eq!(
        names(&net),
        ["conv1", "pool1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3", "ip1", "ip2"]
    );
    assert_eq!(net.input_shape(), [100, 3, 32, 32]);
    let shapes = output_shapes(&net);
    let want: &[&[usize]] = &[
        &[100, 32, 32, 32],
        &[100, 32, 16, 16],
        &[100, 32, 16, 16],
        &[100, 32, 16, 16],
        &[100, 32, 16, 16],
        &[100, 32, 8, 8],
        &[100, 64, 8, 8],
        &[100, 64, 8, 8],
        &[100, 64, 4, 4],
        &[100, 64],
        &[100, 10],
    ];
    for ((name, shape), w) in shapes.iter().zip(want) {
        assert_eq!(shape.as_slice(), *w, "{name}");
    }
    let mean = Some("examples/cifar10/mean.binaryproto");
    assert_eq!(net.train, data("cifar", Phase::Train, "examples/cifar10/cifar10_train_lmdb", 100, 1.0, mean));
    assert_eq!(net.test, Some(data("cifar", Phase::Test, "examples/cifar10/cifar10_test_lmdb", 100, 1.0, mean)));
    // The loss reads ip2 (no in-place layer after it).
    assert_eq!(net.loss.value, net.graph.node("ip2").unwrap().outputs[0]);
    assert_eq!(net.accuracy.len(), 1);
    assert_eq!(net.accuracy[0].phases, Phases { train: false, test: true });
    let lr = vec![(1.0, 1.0), (2.0, 1.0)];
    for (node, m) in net.graph.nodes.iter().zip(&net.mults) {
        let want = if node.weights().is_empty() { vec![] } else { lr.clone() };
        assert_eq!(*m, want, "{}", node.name);
    }

    let expect = [
        ("conv1", vec![32, 3, 5, 5], 0.0001),
        ("conv2", vec![32, 32, 5, 5], 0.01),
        ("conv3", vec![64, 32, 5, 5], 0.01),
        ("ip1", vec![64, 1024], 0.1),
        ("ip2", vec![10, 64], 0.1),
    ];
    for (layer, shape, std) in expect {
        let w = weights(&net, layer);
        assert_eq!(w[0].shape(), shape.as_slice(), "{layer}");
        check_gaussian(&w[0], std);
        assert_eq!(w[1].shape(), [shape[0]]);
        assert!(zeros(&w[1]), "{layer} bias");
    }
}

#[test]
fn seeds() {
    let all = |net: &TrainNet| net.graph.nodes.iter().flat_map(|n| n.weights().to_vec()).collect::<Vec<_>>();
    for (text, shape) in [(LENET_TRAIN_TEST, [1, 28, 28]), (CIFAR10_QUICK_TRAIN_TEST, [3, 32, 32])] {
        let a = all(&TrainNet::build(text.as_bytes(), shape, 42).unwrap());
        let b = all(&TrainNet::build(text.as_bytes(), shape, 42).unwrap());
        let c = all(&TrainNet::build(text.as_bytes(), shape, 43).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.len(), c.len());
        // Every non-constant blob differs with another seed; the constant biases do not.
        for (x, y) in a.iter().zip(&c) {
            assert_eq!(x == y, zeros(x));
        }
    }
}

#[test]
fn builtin_solvers() {
    assert_eq!(nets::builtin("lenet"), Some((nets::LENET_TRAIN_TEST, nets::LENET_SOLVER)));
    assert_eq!(nets::builtin("cifar10_quick"), Some((nets::CIFAR10_QUICK_TRAIN_TEST, nets::CIFAR10_QUICK_SOLVER)));
    assert_eq!(nets::builtin("alexnet"), None);
    for name in nets::NAMES {
        assert!(nets::builtin(name).is_some());
    }

    let s = Solver::parse(nets::LENET_SOLVER.as_bytes()).unwrap();
    assert_eq!(s.base_lr, 0.01);
    assert_eq!(s.momentum, 0.9);
    assert_eq!(s.weight_decay, 0.0005);
    assert_eq!(s.lr_policy, LrPolicy::Inv { gamma: 0.0001, power: 0.75 });
    assert_eq!((s.test_iter.as_slice(), s.test_interval, s.display), (&[20][..], 500, 100));
    assert_eq!((s.max_iter, s.snapshot, s.snapshot_prefix.as_deref()), (10000, 5000, Some("lenet")));
    assert_eq!(s.net.as_deref(), Some("lenet_train_test.prototxt"));

    let s = Solver::parse(nets::CIFAR10_QUICK_SOLVER.as_bytes()).unwrap();
    assert_eq!(s.base_lr, 0.001);
    assert_eq!(s.momentum, 0.9);
    assert_eq!(s.weight_decay, 0.004);
    assert_eq!(s.lr_policy, LrPolicy::Fixed);
    assert_eq!((s.test_iter.as_slice(), s.test_interval, s.display), (&[100][..], 500, 100));
    assert_eq!((s.max_iter, s.snapshot, s.snapshot_prefix.as_deref()), (4000, 4000, Some("cifar10_quick")));
}

/// BVLC's own cifar10_quick_train_test.prototxt gives the same net as the built-in one, weights included.
#[test]
fn fixture_train_test() {
    let Some(shared) = common::shared() else { return };
    let path = shared.join("fixtures/caffe/cifar10_quick/cifar10_quick_train_test.prototxt");
    if !path.exists() {
        eprintln!("SKIPPED: {} is absent", path.display());
        return;
    }
    let fixture = TrainNet::build(&common::read(&path), [3, 32, 32], 5).unwrap();
    let builtin = TrainNet::build(CIFAR10_QUICK_TRAIN_TEST.as_bytes(), [3, 32, 32], 5).unwrap();
    assert_eq!(names(&fixture), names(&builtin));
    assert_eq!(output_shapes(&fixture), output_shapes(&builtin));
    for (a, b) in fixture.graph.nodes.iter().zip(&builtin.graph.nodes) {
        assert_eq!(a.weights(), b.weights(), "{}", a.name);
    }
    assert_eq!(fixture.train, builtin.train);
    assert_eq!(fixture.test, builtin.test);
    assert_eq!(fixture.loss, builtin.loss);
    assert_eq!(fixture.accuracy, builtin.accuracy);
    assert_eq!(fixture.mults, builtin.mults);
}

/// The LeNet text with the layers of these names removed.
fn without(text: &str, layers: &[&str]) -> String {
    let mut parts = text.split("\nlayer {");
    let mut out = parts.next().unwrap().to_string();
    for p in parts {
        if !layers.iter().any(|n| p.contains(&format!("name: \"{n}\""))) {
            out.push_str("\nlayer {");
            out.push_str(p);
        }
    }
    out
}

fn err(text: &str) -> zfvis_core::Error {
    match TrainNet::build(text.as_bytes(), [1, 28, 28], 1) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

const LOSS: &str = "layer {\n  name: \"loss\"\n  type: \"SoftmaxWithLoss\"";

#[test]
fn refused() {
    let l = LENET_TRAIN_TEST;
    let cases: Vec<(String, ErrorKind, &str)> = vec![
        (without(l, &["loss"]), ErrorKind::Model, "no loss layer"),
        (
            l.replace(LOSS, "layer {\n  name: \"loss\"\n  type: \"EuclideanLoss\""),
            ErrorKind::Unsupported,
            "layer 'loss' (EuclideanLoss): only SoftmaxWithLoss is supported for training",
        ),
        (
            l.replacen("include { phase: TEST }", "include { phase: TRAIN }", 1),
            ErrorKind::Model,
            "layers 'mnist' and 'mnist' are both Data layers in the TRAIN phase",
        ),
        (
            l.replace(
                "layer {\n  name: \"relu1\"\n  type: \"ReLU\"",
                "layer {\n  name: \"relu1\"\n  type: \"ReLU\"\n  include { phase: TRAIN }",
            ),
            ErrorKind::Model,
            "layer 'relu1' (ReLU) is only in the TRAIN phase",
        ),
        (
            l.replace("name: \"relu1\"\n  type: \"ReLU\"", "name: \"bn1\"\n  type: \"BatchNorm\""),
            ErrorKind::Unsupported,
            "layer 'bn1' (BatchNorm): BatchNorm in training needs batch statistics: not supported yet",
        ),
        (
            format!("{l}\n{LOSS}\n  bottom: \"ip2\"\n  bottom: \"label\"\n  top: \"loss2\"\n}}"),
            ErrorKind::Model,
            "2 SoftmaxWithLoss layers ('loss', 'loss')",
        ),
        (without(l, &["mnist"]), ErrorKind::Model, "no Data layer in the TRAIN phase"),
        (
            l.replace("type: \"Data\"", "type: \"ImageData\""),
            ErrorKind::Unsupported,
            "layer 'mnist' (ImageData): only Data layers are supported",
        ),
        (
            l.replace(
                "bottom: \"ip2\"\n  bottom: \"label\"\n  top: \"loss\"",
                "bottom: \"ip2\"\n  bottom: \"data\"\n  top: \"loss\"",
            ),
            ErrorKind::Model,
            "layer 'loss' (SoftmaxWithLoss) reads labels from 'data'",
        ),
        (
            l.replace(LOSS, &format!("{LOSS}\n  loss_param {{ normalization: NONE }}")),
            ErrorKind::Unsupported,
            "normalization NONE is not supported yet",
        ),
    ];
    for (text, kind, msg) in cases {
        let e = err(&text);
        assert!(e.message.contains(msg), "expected \"{msg}\", got \"{}\"", e.message);
        assert_eq!(e.kind, kind, "{}", e.message);
    }
}

#[test]
fn dropout_crop_and_v1() {
    // A Dropout layer after relu1 (an identity in the graph, listed with its ratio); crop_size.
    let text = LENET_TRAIN_TEST
        .replace(
            "layer {\n  name: \"ip2\"",
            "layer {\n  name: \"drop1\"\n  type: \"Dropout\"\n  bottom: \"ip1\"\n  top: \"ip1\"\n  dropout_param { dropout_ratio: 0.3 }\n}\nlayer {\n  name: \"ip2\"",
        )
        .replace("transform_param { scale: 0.00390625 }", "transform_param { scale: 0.00390625 crop_size: 24 mirror: true }");
    let net = TrainNet::build(text.as_bytes(), [1, 28, 28], 1).unwrap();
    assert_eq!(net.dropout, [(6, 0.3)]);
    assert_eq!(net.graph.nodes[6].name, "drop1");
    assert_eq!(net.input_shape(), [64, 1, 24, 24]);
    assert!(net.train.mirror && net.train.crop_size == 24);
    assert_eq!(net.graph.node("ip1").unwrap().weights()[0].shape(), [500, 50 * 3 * 3]);
    // The loss reads ip2; ip1's blob was rebound by relu1 and drop1 before ip2 reads it.
    assert_eq!(net.loss.value, net.graph.node("ip2").unwrap().outputs[0]);

    // V1: enum types, blobs_lr/weight_decay, the transformation in data_param; a missing filler is constant 0.
    let v1 = r#"
name: "v1"
layers { name: "d" type: DATA top: "data" top: "label" include { phase: TRAIN }
  data_param { source: "train" batch_size: 8 scale: 0.5 backend: LMDB } }
layers { name: "d" type: DATA top: "data" top: "label" include { phase: TEST }
  data_param { source: "test" batch_size: 4 scale: 0.5 } }
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv" blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
  convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 0.5 } } }
layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
layers { name: "fc" type: INNER_PRODUCT bottom: "conv" top: "fc" inner_product_param { num_output: 3 } }
layers { name: "acc" type: ACCURACY bottom: "fc" bottom: "label" top: "acc" accuracy_param { top_k: 2 } }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "fc" bottom: "label" top: "loss" loss_weight: 2 loss_param { ignore_label: 255 } }
"#;
    let net = TrainNet::build(v1.as_bytes(), [3, 8, 8], 1).unwrap();
    assert_eq!(names(&net), ["conv", "relu", "fc"]);
    assert_eq!(net.input_shape(), [8, 3, 8, 8]);
    assert_eq!((net.train.source.as_str(), net.train.scale, net.train.backend.as_str()), ("train", 0.5, "LMDB"));
    let test = net.test.as_ref().unwrap();
    assert_eq!((test.source.as_str(), test.batch_size, test.backend.as_str()), ("test", 4, "LEVELDB"));
    assert_eq!(net.mults, [vec![(1.0, 1.0), (2.0, 0.0)], vec![], vec![(1.0, 1.0), (1.0, 1.0)]]);
    assert_eq!(net.loss.loss_weight, 2.0);
    assert_eq!(net.loss.loss, SoftmaxWithLoss { ignore_label: Some(255) });
    assert_eq!(net.accuracy[0].accuracy.top_k, 2);
    assert_eq!(net.accuracy[0].phases, Phases { train: true, test: true });
    let fc = weights(&net, "fc");
    assert_eq!(fc[0].shape(), [3, 4 * 6 * 6]);
    assert!(zeros(&fc[0]) && zeros(&fc[1]));
    check_gaussian(&weights(&net, "conv")[0], 0.5);
}
