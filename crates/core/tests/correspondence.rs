//! Correspondence Δ (Section 5, Table 1) against OpenCV dnn on cifar10_quick (tests/reference/
//! invariance_correspondence.py, data in tests/data/invariance; needs ../shared), and the random control,
//! batching and input checks on a small committed net.

mod common;
use common::*;
use ndarray::{Array4, ArrayD};
use std::path::PathBuf;
use zfvis_core::vis::correspondence::{delta, differences, features, occlude, random_rects, sign, table, Rect};
use zfvis_core::vis::occlusion::{Fill, BATCH_BYTES};
use zfvis_core::{formats::caffe, formats::Model, Tensor};

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The committed 1×4×11×13 net of tests/data/caffe_layers.
fn small_net() -> Model {
    let d = data().join("caffe_layers");
    caffe::load(&read(&d.join("conv.prototxt")), &read(&d.join("conv.caffemodel"))).unwrap()
}

fn small_images(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| {
            Array4::from_shape_fn((1, 4, 11, 13), |(_, c, y, x)| ((7 * c + 3 * y + 5 * x + 11 * i) % 17) as f32 - 8.0)
                .into_dyn()
        })
        .collect()
}

fn rect(y: usize, x: usize, height: usize, width: usize) -> Rect {
    Rect { y, x, height, width }
}

#[test]
fn delta_counts_sign_disagreements_over_pairs() {
    assert_eq!([sign(2.5), sign(-1e-30), sign(0.0), sign(-0.0)], [1, -1, 0, 0]);
    let eps = vec![vec![1.0, 0.0, -1.0], vec![3.0, 2.0, -0.5], vec![0.0, 0.0, 0.0]];
    // (0,1): 1 position, (0,2): 2, (1,2): 3.
    assert_eq!(delta(&eps), 6);
    assert_eq!(delta(&eps[..1]), 0);
}

#[test]
fn random_rects_are_deterministic_and_inside() {
    let like = [rect(0, 0, 8, 8), rect(3, 4, 5, 13), rect(1, 1, 1, 1), rect(0, 0, 11, 2)];
    let a = random_rects(42, &like, 11, 13).unwrap();
    assert_eq!(a, random_rects(42, &like, 11, 13).unwrap());
    assert_ne!(a, random_rects(43, &like, 11, 13).unwrap());
    for (r, l) in a.iter().zip(&like) {
        assert_eq!((r.height, r.width), (l.height, l.width));
        r.check(11, 13).unwrap();
    }
    // A 1×1 rectangle covers every position over many draws, roughly uniformly.
    let mut seen = vec![0usize; 11 * 13];
    for s in 0..14_300 {
        let r = random_rects(s, &[rect(0, 0, 1, 1)], 11, 13).unwrap()[0];
        seen[r.y * 13 + r.x] += 1;
    }
    assert!(seen.iter().all(|&c| (50..150).contains(&c)), "{seen:?}");
    let e = random_rects(1, &[rect(0, 0, 12, 2)], 11, 13).unwrap_err();
    assert!(e.to_string().contains("12×2"), "{e}");
}

#[test]
fn occluded_rectangles_hold_the_fill() {
    let image = &small_images(1)[0];
    let r = rect(2, 3, 4, 5);
    let out = occlude(image, &r, &Fill::PerChannel(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
    for ((_, c, y, x), &v) in out.view().into_dimensionality::<ndarray::Ix4>().unwrap().indexed_iter() {
        let inside = (2..6).contains(&y) && (3..8).contains(&x);
        assert_eq!(v, if inside { c as f32 + 1.0 } else { image[[0, c, y, x]] });
    }
}

/// The table's Δ are those of `differences` for the given rectangles and for random_rects(seed + d);
/// batches of one image give the same ε as one batch.
#[test]
fn table_follows_its_documented_draws() {
    let model = small_net();
    let g = &model.graph;
    let images = small_images(4);
    let rects = [rect(0, 0, 3, 3), rect(5, 6, 3, 3), rect(2, 9, 4, 4), rect(8, 1, 3, 5)];
    let layers = ["conv_gd", "relu_ip", "conv_after"];
    let fill = Fill::Value(0.0);
    let t = table(g, &images, &rects, &layers, &fill, 5, 7).unwrap();
    assert_eq!((t.draws, t.seed, t.rows.len()), (5, 7, 3));
    let eps = differences(g, &images, &rects, &layers, &fill, BATCH_BYTES).unwrap();
    assert_eq!(eps, differences(g, &images, &rects, &layers, &fill, 1).unwrap());
    let random: Vec<_> = (0..5)
        .map(|d| differences(g, &images, &random_rects(7 + d, &rects, 11, 13).unwrap(), &layers, &fill, 1).unwrap())
        .collect();
    let originals = features(g, &images, &layers, 1).unwrap();
    for (l, row) in t.rows.iter().enumerate() {
        assert_eq!(row.layer, layers[l]);
        assert_eq!((row.len, row.pairs), (originals[l][0].len(), 6));
        assert_eq!(row.parts, delta(&eps[l]));
        assert_eq!(row.normalised, row.parts as f64 / (6 * row.len) as f64);
        let want: Vec<u64> = random.iter().map(|e| delta(&e[l])).collect();
        assert_eq!(row.random, want);
        let r: Vec<f64> = want.iter().map(|&v| v as f64 / (6 * row.len) as f64).collect();
        let mean = r.iter().sum::<f64>() / 5.0;
        let std = (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        assert!((row.random_mean - mean).abs() < 1e-12 && (row.random_std - std).abs() < 1e-12);
        println!("{}: parts {:.4}, random {:.4} ± {:.4}", row.layer, row.normalised, row.random_mean, row.random_std);
    }
    // ε is 0 wherever the rectangle cannot reach: conv_gd's first rows for a rectangle at the bottom.
    assert!(eps[0][3][..13].iter().all(|&e| e == 0.0));
    let none = table(g, &images, &rects, &layers, &fill, 0, 7).unwrap();
    assert!(none.rows.iter().all(|r| r.random.is_empty() && r.random_mean.is_nan()));
    assert_eq!(none.rows[1].parts, t.rows[1].parts);
}

#[test]
fn bad_inputs_are_refused_with_clear_errors() {
    let model = small_net();
    let g = &model.graph;
    let images = small_images(3);
    let rects = [rect(0, 0, 3, 3); 3];
    let fill = Fill::Value(0.0);
    let err = |images: &[Tensor], rects: &[Rect], layers: &[&str], fill: &Fill| {
        table(g, images, rects, layers, fill, 2, 0).unwrap_err().to_string()
    };
    assert!(err(&images[..1], &rects[..1], &["conv_gd"], &fill).contains("at least 2 images, got 1"));
    assert!(err(&images, &rects[..2], &["conv_gd"], &fill).contains("2 rectangles given for 3 images"));
    let e = err(&images, &[rects[0], rects[0], rect(9, 0, 3, 3)], &["conv_gd"], &fill);
    assert!(e.contains("image 2") && e.contains("not inside the 11×13 image"), "{e}");
    let e = err(&images, &[rects[0], rect(1, 1, 0, 3), rects[0]], &["conv_gd"], &fill);
    assert!(e.contains("image 1") && e.contains("empty"), "{e}");
    let mut odd = images.clone();
    odd[1] = ArrayD::zeros(vec![1, 4, 11, 12]);
    assert!(err(&odd, &rects, &["conv_gd"], &fill).contains("image 1 is 1×4×11×12, image 0 is 1×4×11×13"));
    assert!(err(&images, &rects, &["conv_gd", "fc7"], &fill).contains("no layer or value named 'fc7'"));
    assert!(err(&images, &rects, &[], &fill).contains("no layers"));
    assert!(err(&images, &rects, &["conv_gd"], &Fill::PerChannel(vec![0.0; 3])).contains("3 fill values"));
    let flat: Vec<Tensor> = vec![ArrayD::zeros(vec![4, 11, 13]); 2];
    assert!(err(&flat, &rects[..2], &["conv_gd"], &fill).contains("1×C×H×W"));
}

/// Δ equals OpenCV's, up to the sign of ε entries that are nonzero but tiny (|ε| ≤ 1e-5·max(1, max |f|)):
/// the two float32 engines sum in different orders, so such an entry may be +, − or 0 in either, and each
/// can change Δ by at most n − 1 (the pairs it belongs to). The bound counts tiny entries on both sides.
/// Entries the rectangle cannot reach are exactly 0 in both engines (same inputs, same arithmetic), so
/// they never count.
#[test]
fn delta_matches_opencv() {
    let Some(sh) = shared() else { return };
    use ndarray_npy::ReadNpyExt;
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let model =
        caffe::load(&read(&d.join("cifar10_quick.prototxt")), &read(&d.join("cifar10_quick_iter_4000.caffemodel")))
            .unwrap();
    let g = &model.graph;
    let npz = read(&sh.join("fixtures/images/cifar10_test_10k.npz"));
    let x = ndarray::Array4::<u8>::read_npy(&npz_member(&npz, "x.npy")[..]).unwrap();
    let names = npy_names(&npz_member(&npz, "names.npy"));
    let mean = npy(&d.join("mean_approx.npy"));
    let r: serde_json::Value = serde_json::from_slice(&read(&data().join("invariance/correspondence.json"))).unwrap();
    let images: Vec<Tensor> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let k = names.iter().position(|m| m == n.as_str().unwrap()).unwrap();
            Array4::from_shape_fn((1, 3, 32, 32), |(_, c, y, xx)| x[[k, y, xx, c]] as f32 - mean[[c, y, xx]]).into_dyn()
        })
        .collect();
    let rects: Vec<Rect> = r["rects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let f = |k: &str| v[k].as_u64().unwrap() as usize;
            rect(f("y"), f("x"), f("height"), f("width"))
        })
        .collect();
    let refs = r["layers"].as_array().unwrap();
    let layers: Vec<&str> = refs.iter().map(|l| l["layer"].as_str().unwrap()).collect();
    let fill = Fill::Value(r["fill"].as_f64().unwrap() as f32);
    let t = table(g, &images, &rects, &layers, &fill, 3, 1).unwrap();
    let eps = differences(g, &images, &rects, &layers, &fill, BATCH_BYTES).unwrap();
    let originals = features(g, &images, &layers, BATCH_BYTES).unwrap();
    for ((row, want), (e, f)) in t.rows.iter().zip(refs).zip(eps.iter().zip(&originals)) {
        let scale = f.iter().flatten().fold(1f32, |m, v| m.max(v.abs()));
        let tiny = e.iter().flatten().filter(|&&v| v != 0.0 && v.abs() <= 1e-5 * scale).count() as u64;
        let bound = 4 * (tiny + want["tiny_eps"].as_u64().unwrap());
        let ref_delta = want["delta"].as_u64().unwrap();
        println!(
            "{}: Δ {} (OpenCV {ref_delta}, allowed ±{bound}), normalised {:.4}, random {:.4} ± {:.4}",
            row.layer, row.parts, row.normalised, row.random_mean, row.random_std
        );
        assert_eq!(row.len as u64, want["len"].as_u64().unwrap());
        assert!(row.parts.abs_diff(ref_delta) <= bound, "{}: {} vs {ref_delta}", row.layer, row.parts);
    }
}
