//! Invariance curves (Fig. 5): the transforms against numpy (tests/reference/invariance_correspondence.py,
//! data in tests/data/invariance), the curves against OpenCV dnn on cifar10_quick (needs ../shared), and
//! batching and sharding against single passes on a small committed net.

mod common;
use common::*;
use ndarray::{Array4, ArrayD, Axis};
use std::path::PathBuf;
use zfvis_core::vis::invariance::{apply, default_layers, sweep, sweep_values, Curves, Kind, Reference, Transform};
use zfvis_core::vis::occlusion::BATCH_BYTES;
use zfvis_core::{formats::caffe, formats::Model, Tensor};

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&read(p)).unwrap()
}

/// The committed 1×4×11×13 net of tests/data/caffe_layers (convolutions and an in-place ReLU).
fn small_net() -> Model {
    let d = data().join("caffe_layers");
    caffe::load(&read(&d.join("conv.prototxt")), &read(&d.join("conv.caffemodel"))).unwrap()
}

fn small_image() -> Tensor {
    Array4::from_shape_fn((1, 4, 11, 13), |(_, c, y, x)| ((7 * c + 3 * y + 5 * x) % 17) as f32 - 8.0).into_dyn()
}

fn kind(name: &str) -> Kind {
    name.parse().unwrap()
}

#[test]
fn transforms_match_numpy() {
    let d = data().join("invariance");
    let input = npy(&d.join("synthetic_input.npy"));
    let expected: ArrayD<f64> = ndarray_npy::read_npy(d.join("synthetic_transforms.npy")).unwrap();
    let list = json(&d.join("invariance.json"))["synthetic"].as_array().unwrap().clone();
    assert_eq!(list.len(), expected.shape()[0]);
    let mut worst = 0f64;
    for (t, want) in list.iter().zip(expected.outer_iter()) {
        let tr = kind(t["kind"].as_str().unwrap()).transform(t["value"].as_f64().unwrap() as f32);
        let got = apply(&input, &tr).unwrap();
        assert_eq!(&got.shape()[1..], want.shape());
        let err = got.iter().zip(want.iter()).fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
        println!("{tr:?}: max abs err {err:.2e}");
        worst = worst.max(err);
    }
    // float32 rounding of values up to ~200 is below 1e-5; the computations are the same in float64.
    assert!(worst <= 1e-5, "{worst:e}");
}

#[test]
fn identity_transforms_return_the_image_bit_for_bit() {
    let mut image = small_image();
    image[[0, 0, 0, 0]] = -0.0;
    image[[0, 1, 2, 3]] = 1e-30;
    for t in [
        Transform::Translate { dy: 0.0 },
        Transform::Scale(1.0),
        Transform::Rotate { degrees: 0.0 },
        Transform::Rotate { degrees: 360.0 },
        Transform::Rotate { degrees: -720.0 },
    ] {
        assert!(t.is_identity());
        let out = apply(&image, &t).unwrap();
        assert!(out.iter().zip(image.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{t:?}");
    }
}

/// Integer shifts and quarter turns of a square image move pixels exactly (numpy's rot90 is counter-clockwise).
#[test]
fn integer_shifts_and_quarter_turns_are_exact() {
    let image: Tensor = Array4::from_shape_fn((1, 2, 6, 6), |(_, c, y, x)| (100 * c + 10 * y + x) as f32).into_dyn();
    let down = apply(&image, &Transform::Translate { dy: 2.0 }).unwrap();
    let turn = apply(&image, &Transform::Rotate { degrees: 90.0 }).unwrap();
    let half = apply(&image, &Transform::Rotate { degrees: -180.0 }).unwrap();
    for c in 0..2 {
        for y in 0..6 {
            for x in 0..6 {
                assert_eq!(down[[0, c, y, x]], if y >= 2 { image[[0, c, y - 2, x]] } else { 0.0 });
                assert_eq!(turn[[0, c, y, x]], image[[0, c, x, 5 - y]]);
                assert_eq!(half[[0, c, y, x]], image[[0, c, 5 - y, 5 - x]]);
            }
        }
    }
    // Enlarging by 2 about the centre of a 6×6 image: output (y, x) samples (1.25 + y/2, 1.25 + x/2).
    let big = apply(&image, &Transform::Scale(2.0)).unwrap();
    let want = 0.75 * 0.75 * image[[0, 1, 1, 1]]
        + 0.75 * 0.25 * (image[[0, 1, 1, 2]] + image[[0, 1, 2, 1]])
        + 0.0625 * image[[0, 1, 2, 2]];
    assert!((big[[0, 1, 0, 0]] - want).abs() < 1e-4, "{} vs {want}", big[[0, 1, 0, 0]]);
}

#[test]
fn default_values_hold_the_identity() {
    for k in [Kind::Translate, Kind::Scale, Kind::Rotate] {
        let v = k.default_values(32, 32);
        assert!(v.contains(&k.identity()), "{k:?}: {v:?}");
        assert!(k.transform(k.identity()).is_identity());
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
    assert_eq!(Kind::Translate.default_values(32, 32), (-5..=5).map(|i| i as f32 * 1.6).collect::<Vec<_>>());
    assert_eq!(Kind::Rotate.default_values(32, 32).last(), Some(&360.0));
    assert_eq!(Kind::Scale.default_values(32, 32)[0], 0.6);
}

#[test]
fn default_layers_name_the_first_convolution_and_the_last_hidden_value() {
    // conv_after reads conv_ip after the in-place relu_ip: the value is named by the ReLU layer.
    assert_eq!(default_layers(&small_net().graph), ["conv_gd", "relu_ip"]);
    let Some(sh) = shared() else { return };
    assert_eq!(default_layers(&cifar(&sh).graph), ["conv1", "ip1"]);
}

/// Small budgets (one image per pass), a few per pass and all at once give the same curves; so do shards.
#[test]
fn batched_and_sharded_sweeps_equal_single_passes() {
    let model = small_net();
    let g = &model.graph;
    let image = small_image();
    let layers = default_layers(g);
    let layers: Vec<&str> = layers.iter().map(|s| s.as_str()).collect();
    for k in [Kind::Translate, Kind::Scale, Kind::Rotate] {
        let values = k.default_values(11, 13);
        let single = sweep(g, &image, k, &values, &layers, None, 1).unwrap();
        let all = sweep(g, &image, k, &values, &layers, None, BATCH_BYTES).unwrap();
        let few = sweep(g, &image, k, &values, &layers, None, 20_000).unwrap();
        let reference = Reference::new(g, &image, &layers, None).unwrap();
        let mut shards = sweep_values(g, &image, &reference, k, &values[..4], 1).unwrap();
        shards.append(sweep_values(g, &image, &reference, k, &values[4..9], BATCH_BYTES).unwrap()).unwrap();
        shards.append(sweep_values(g, &image, &reference, k, &values[9..], 20_000).unwrap()).unwrap();
        for other in [&all, &few, &shards] {
            close(&single, other);
        }
        let at = values.iter().position(|&v| v == k.identity()).unwrap();
        assert!(single.distances.iter().all(|d| d[at] == 0.0), "{k:?}: identity is at distance 0");
        let identity: Vec<bool> = values.iter().map(|&v| k.transform(v).is_identity()).collect();
        assert!(single.distances.iter().all(|d| d.iter().zip(&identity).all(|(&v, &i)| i == (v == 0.0))));
    }
}

fn close(a: &Curves, b: &Curves) {
    assert_eq!((a.kind, &a.values, &a.layers, a.class), (b.kind, &b.values, &b.layers, b.class));
    let pairs = a.distances.iter().flatten().zip(b.distances.iter().flatten()).chain(a.prob.iter().zip(&b.prob));
    for (x, y) in pairs {
        assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn bad_inputs_are_refused_with_their_values() {
    let model = small_net();
    let g = &model.graph;
    let image = small_image();
    let err = |t: Transform| apply(&image, &t).unwrap_err().to_string();
    assert!(err(Transform::Scale(0.0)).contains("Scale(0.0)"));
    assert!(err(Transform::Scale(-2.0)).contains("above 0"));
    assert!(err(Transform::Rotate { degrees: f32::INFINITY }).contains("finite"));
    assert!(err(Transform::Translate { dy: f32::NAN }).contains("finite"));
    let flat: Tensor = ArrayD::zeros(vec![4, 11, 13]);
    assert!(apply(&flat, &Transform::Scale(2.0)).unwrap_err().to_string().contains("4×11×13"));
    let two = ndarray::concatenate(Axis(0), &[image.view(), image.view()]).unwrap();
    assert!(sweep(g, &two, Kind::Scale, &[1.0], &["conv_gd"], None, BATCH_BYTES)
        .unwrap_err()
        .to_string()
        .contains("2×4×11×13"));
    let e = sweep(g, &image, Kind::Scale, &[1.0], &["conv9"], None, BATCH_BYTES).unwrap_err();
    assert!(e.to_string().contains("'conv9'"), "{e}");
    let e = sweep(g, &image, Kind::Scale, &[1.0], &["conv_gd"], Some(10_000), BATCH_BYTES).unwrap_err();
    assert!(e.to_string().contains("class 10000"), "{e}");
    let e = "zoom".parse::<Kind>().unwrap_err();
    assert!(e.to_string().contains("'zoom'"), "{e}");
    let mut a = sweep(g, &image, Kind::Scale, &[1.0], &["conv_gd"], None, BATCH_BYTES).unwrap();
    let b = sweep(g, &image, Kind::Rotate, &[0.0], &["conv_gd"], None, BATCH_BYTES).unwrap();
    assert!(a.append(b).is_err());
}

fn cifar(sh: &std::path::Path) -> Model {
    let d = sh.join("fixtures/caffe/cifar10_quick");
    caffe::load(&read(&d.join("cifar10_quick.prototxt")), &read(&d.join("cifar10_quick_iter_4000.caffemodel"))).unwrap()
}

/// The 10k test images' npz (RGB bytes) and the mean: image `name` as RGB planes, 0..255 minus the mean.
fn cifar_images(sh: &std::path::Path) -> impl Fn(&str) -> Tensor {
    use ndarray_npy::ReadNpyExt;
    let npz = read(&sh.join("fixtures/images/cifar10_test_10k.npz"));
    let x = ndarray::Array4::<u8>::read_npy(&npz_member(&npz, "x.npy")[..]).unwrap();
    let names = npy_names(&npz_member(&npz, "names.npy"));
    let mean = npy(&sh.join("fixtures/caffe/cifar10_quick/mean_approx.npy"));
    move |name: &str| {
        let k = names.iter().position(|n| n == name).unwrap_or_else(|| panic!("{name} not in the npz"));
        Array4::from_shape_fn((1, 3, 32, 32), |(_, c, y, xx)| x[[k, y, xx, c]] as f32 - mean[[c, y, xx]]).into_dyn()
    }
}

#[test]
fn curves_match_opencv() {
    let Some(sh) = shared() else { return };
    let model = cifar(&sh);
    let g = &model.graph;
    let image = cifar_images(&sh);
    let r = json(&data().join("invariance/invariance.json"));
    let layers: Vec<&str> = r["layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let mut worst = (0f32, 0f32);
    let mut count = 0;
    for entry in r["images"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let x = image(name);
        let label = entry["label"].as_u64().unwrap() as usize;
        let top1 = Reference::new(g, &x, &layers, None).unwrap().class;
        assert_eq!(top1, entry["top1"].as_u64().unwrap() as usize, "{name}: top-1");
        for (kind_name, s) in entry["sweeps"].as_object().unwrap() {
            let values: Vec<f32> = s["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let c = sweep(g, &x, kind(kind_name), &values, &layers, Some(label), BATCH_BYTES).unwrap();
            for (l, layer) in layers.iter().enumerate() {
                let want = floats(&s["distances"][l]);
                let e = rel_err(&ArrayD::from_shape_vec(vec![want.len()], c.distances[l].clone()).unwrap(), &want);
                println!("{name} {kind_name} {layer}: distance rel err {e:.2e}");
                worst.0 = worst.0.max(e);
            }
            let e = rel_err(&ArrayD::from_shape_vec(vec![c.prob.len()], c.prob.clone()).unwrap(), &floats(&s["prob"]));
            println!("{name} {kind_name}: probability err {e:.2e}");
            worst.1 = worst.1.max(e);
            count += 1;
        }
    }
    println!("worst: distances {:.2e}, probabilities {:.2e}", worst.0, worst.1);
    assert_eq!(count, 9, "3 images × 3 kinds");
    assert!(worst.0 <= 1e-4 && worst.1 <= 1e-4, "{worst:?}");
}

fn floats(v: &serde_json::Value) -> ArrayD<f32> {
    let v: Vec<f32> = v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    ArrayD::from_shape_vec(vec![v.len()], v).unwrap()
}
