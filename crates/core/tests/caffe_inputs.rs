//! Input handling on the real fixtures: bad files get clear errors, train_test nets become deploy nets,
//! and shapes follow the actual input.

mod common;
use common::*;
use ndarray::{ArrayD, IxDyn};
use zfvis_core::error::ErrorKind;
use zfvis_core::{engine, formats::caffe};

fn cifar(sh: &std::path::Path, f: &str) -> Vec<u8> {
    read(&sh.join("fixtures/caffe/cifar10_quick").join(f))
}

fn load_err(proto: &[u8], weights: &[u8]) -> zfvis_core::Error {
    caffe::load(proto, weights).expect_err("load must fail")
}

#[test]
fn bad_files_get_clear_messages() {
    let Some(sh) = shared() else { return };
    let proto = cifar(&sh, "cifar10_quick.prototxt");
    let weights = cifar(&sh, "cifar10_quick_iter_4000.caffemodel");

    let e = load_err(&proto, &weights[..weights.len() / 2]);
    assert_eq!(e.kind, ErrorKind::Format);
    assert!(e.message.contains("truncated"), "{e}");

    // Random bytes, seeded.
    let mut x = 0x9E3779B97F4A7C15u64;
    let random: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let e = load_err(&proto, &random);
    assert!(e.message.contains("weights file"), "{e}");
    let e = load_err(&random, &weights);
    assert!(e.message.contains("not a text .prototxt"), "{e}");

    let broken = String::from_utf8(proto.clone()).unwrap().replacen("num_output: 32", "num_output 32 {", 1);
    let e = load_err(broken.as_bytes(), &weights);
    assert!(e.message.contains("syntax error") && e.message.contains("line 20"), "{e}");

    let lenet = read(&sh.join("fixtures/caffe/lenet/lenet.prototxt"));
    let e = load_err(&lenet, &weights);
    assert_eq!(e.kind, ErrorKind::Model);
    assert!(e.message.contains("'conv1'") && e.message.contains("32×3×5×5") && e.message.contains("20×1×5×5"), "{e}");

    let e = load_err(&proto, &proto);
    assert!(e.message.contains("is text"), "{e}");
    let e = load_err(&weights, &weights);
    assert!(e.message.contains("binary data"), "{e}");
    let e = load_err(&proto, &[]);
    assert!(e.message.contains("empty"), "{e}");
    let e = load_err(b"", &weights);
    assert!(e.message.contains("empty"), "{e}");

    // A layer the weights file lacks.
    let renamed = String::from_utf8(proto.clone()).unwrap().replace("name: \"ip2\"", "name: \"fc_new\"");
    let e = load_err(renamed.as_bytes(), &weights);
    assert!(e.message.contains("'fc_new'") && e.message.contains("no weights"), "{e}");

    // An unsupported layer type names the layer, its type and the supported types.
    let odd = String::from_utf8(proto).unwrap().replacen("type: \"ReLU\"", "type: \"Swish\"", 1);
    let e = load_err(odd.as_bytes(), &weights);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(
        e.message.contains("'relu1'") && e.message.contains("Swish") && e.message.contains("Convolution, Pooling"),
        "{e}"
    );
}

#[test]
fn train_test_net_becomes_the_deploy_net() {
    let Some(sh) = shared() else { return };
    let deploy =
        caffe::load(&cifar(&sh, "cifar10_quick.prototxt"), &cifar(&sh, "cifar10_quick_iter_4000.caffemodel")).unwrap();
    let train = caffe::load(
        &cifar(&sh, "cifar10_quick_train_test.prototxt"),
        &cifar(&sh, "cifar10_quick_iter_4000.caffemodel"),
    )
    .unwrap();
    assert_eq!(train.graph.inputs[0].1, vec![1, 3, 32, 32]);
    let names = |m: &zfvis_core::formats::Model| m.graph.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
    // The train_test net has no Softmax; the rest is the deploy net.
    assert_eq!(names(&train), names(&deploy)[..names(&deploy).len() - 1]);
    assert!(train.notes.iter().any(|n| n.contains("SoftmaxWithLoss")));
    let input = npy(&sh.join("reference/cifar10_quick_iter_4000/cat_0000/input.npy"));
    let a = engine::forward(&train.graph, vec![input.clone()]).unwrap();
    let b = engine::forward(&deploy.graph, vec![input]).unwrap();
    assert_eq!(a.get(&train.graph, "ip2").unwrap(), b.get(&deploy.graph, "ip2").unwrap());
}

#[test]
fn in_place_layers_keep_every_output() {
    let Some(sh) = shared() else { return };
    let m =
        caffe::load(&cifar(&sh, "cifar10_quick.prototxt"), &cifar(&sh, "cifar10_quick_iter_4000.caffemodel")).unwrap();
    let input = npy(&sh.join("reference/cifar10_quick_iter_4000/cat_0000/input.npy"));
    let a = engine::forward(&m.graph, vec![input]).unwrap();
    let conv2 = a.get(&m.graph, "conv2").unwrap();
    let relu2 = a.get(&m.graph, "relu2").unwrap();
    assert!(conv2.iter().any(|&v| v < 0.0), "conv2 must hold the values before relu2");
    assert!(relu2.iter().all(|&v| v >= 0.0));
    assert_eq!(m.graph.values[m.graph.nodes[4].outputs[0]].blob, "conv2");
}

#[test]
fn shapes_follow_the_input() {
    let Some(sh) = shared() else { return };
    // LeNet declares batch 64 and runs at 1 and 3.
    let lenet = caffe::load(
        &read(&sh.join("fixtures/caffe/lenet/lenet.prototxt")),
        &read(&sh.join("fixtures/caffe/lenet/lenet_iter_10000.caffemodel")),
    )
    .unwrap();
    let one = npy(&sh.join("reference/lenet/wonnx_5/input.npy"));
    let p1 = engine::forward(&lenet.graph, vec![one.clone()]).unwrap();
    let three = ndarray::concatenate(ndarray::Axis(0), &[one.view(), one.view(), one.view()]).unwrap();
    let p3 = engine::forward(&lenet.graph, vec![three]).unwrap();
    let (prob1, prob3) = (p1.get(&lenet.graph, "prob").unwrap(), p3.get(&lenet.graph, "prob").unwrap());
    assert_eq!(prob3.shape(), &[3, 10]);
    for r in 0..3 {
        for c in 0..10 {
            assert!((prob3[[r, c]] - prob1[[0, c]]).abs() < 1e-6);
        }
    }
    // The convolutional part takes any size; the InnerProduct explains why 64×64 does not fit.
    let m =
        caffe::load(&cifar(&sh, "cifar10_quick.prototxt"), &cifar(&sh, "cifar10_quick_iter_4000.caffemodel")).unwrap();
    let e = engine::forward(&m.graph, vec![ArrayD::zeros(IxDyn(&[1, 3, 64, 64]))]).unwrap_err();
    assert!(e.message.contains("'ip1'") && e.message.contains("4096 features") && e.message.contains("1024"), "{e}");
    let e = engine::forward(&m.graph, vec![ArrayD::zeros(IxDyn(&[1, 1, 32, 32]))]).unwrap_err();
    assert!(e.message.contains("3 channels"), "{e}");
    let e = engine::forward(&m.graph, vec![ArrayD::zeros(IxDyn(&[1, 3, 2, 2]))]).unwrap_err();
    assert!(e.message.contains("'conv1'") || e.message.contains("'pool1'"), "{e}");
}

#[test]
fn mean_binaryproto_equals_the_npy() {
    let Some(sh) = shared() else { return };
    let a = caffe::read_mean(&cifar(&sh, "mean_approx.binaryproto")).unwrap();
    let b = npy(&sh.join("fixtures/caffe/cifar10_quick/mean_approx.npy"));
    assert_eq!(a.shape(), &[3, 32, 32]);
    assert_eq!(rel_err(&a, &b), 0.0);
}

#[test]
fn all_three_input_forms_and_double_data_load_alike() {
    use prost::Message;
    use zfvis_core::formats::caffe::proto::NetParameter;
    let Some(sh) = shared() else { return };
    let deploy = String::from_utf8(cifar(&sh, "cifar10_quick.prototxt")).unwrap();
    let weights = cifar(&sh, "cifar10_quick_iter_4000.caffemodel");
    let input_layer = "layer {\n  name: \"data\"\n  type: \"Input\"\n  top: \"data\"\n  input_param { shape: { dim: 1 dim: 3 dim: 32 dim: 32 } }\n}\n";
    assert!(deploy.contains(input_layer));
    let forms = [
        deploy.clone(),
        deploy.replace(input_layer, "input: \"data\"\ninput_shape { dim: 1 dim: 3 dim: 32 dim: 32 }\n"),
        deploy.replace(input_layer, "input: \"data\"\ninput_dim: 10\ninput_dim: 3\ninput_dim: 32\ninput_dim: 32\n"),
    ];
    // The same weights stored as double_data.
    let mut net = NetParameter::decode(weights.as_slice()).unwrap();
    for l in &mut net.layer {
        for b in &mut l.blobs {
            b.double_data = b.data.drain(..).map(f64::from).collect();
        }
    }
    let doubles = net.encode_to_vec();
    let reference = caffe::load(forms[0].as_bytes(), &weights).unwrap();
    for (i, proto) in forms.iter().enumerate() {
        for w in [&weights, &doubles] {
            let m = caffe::load(proto.as_bytes(), w).unwrap();
            assert_eq!(m.graph.default_input_shapes(), vec![vec![1, 3, 32, 32]], "form {i}");
            for (a, b) in m.graph.nodes.iter().zip(&reference.graph.nodes) {
                assert_eq!(a.name, b.name);
                assert_eq!(a.weights(), b.weights(), "form {i}, layer {}", a.name);
            }
        }
    }
}

#[test]
fn max_pooling_switches_take_the_first_maximum() {
    use zfvis_core::ops::{Pool, PoolKind, PoolRounding};
    // A 4×4 plane of ties except one larger value; 3×3 windows, stride 2, Caffe's ceil rounding → 2×2.
    let mut x = ArrayD::<f32>::zeros(IxDyn(&[1, 1, 4, 4]));
    x[[0, 0, 3, 3]] = 1.0;
    let pool = Pool {
        kind: PoolKind::Max,
        kernel: [3, 3],
        stride: [2, 2],
        pads: [0; 4],
        dilation: [1, 1],
        rounding: PoolRounding::CaffeCeil,
        global: false,
        count_include_pad: true,
    };
    let (y, sw) = pool.forward(&x).unwrap();
    assert_eq!(y.shape(), &[1, 1, 2, 2]);
    // Windows start at (0,0), (0,2), (2,0), (2,2); ties pick the window's first cell in row-major order.
    assert_eq!(sw.unwrap().index, vec![0, 2, 8, 15]);
}
