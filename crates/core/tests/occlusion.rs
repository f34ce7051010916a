//! Occlusion sensitivity against OpenCV dnn's maps in ../shared/reference, and batched against single passes.

mod common;
use common::*;
use ndarray::{Array4, ArrayD, Axis};
use zfvis_core::vis::occlusion::{batch_size, occlusion, probabilities, Fill, Maps, Occluder, Targets, BATCH_BYTES};
use zfvis_core::{engine, formats::caffe, formats::Model, Tensor};

fn load(sh: &std::path::Path, entry: &serde_json::Value) -> Model {
    caffe::load(
        &read(&sh.join(entry["prototxt"].as_str().unwrap())),
        &read(&sh.join(entry["weights"].as_str().unwrap())),
    )
    .unwrap()
}

/// "…size{S}_stride{T}.npy" → (S, T).
fn size_stride(path: &str) -> (usize, usize) {
    let stem = path.rsplit('/').next().unwrap().trim_end_matches(".npy");
    let s = stem.split("_size").nth(1).unwrap();
    let (s, t) = s.split_once("_stride").unwrap();
    (s.parse().unwrap(), t.parse().unwrap())
}

#[test]
fn class_probability_maps_match_opencv() {
    let Some(sh) = shared() else { return };
    let m = manifest(&sh);
    let mut report = vec![];
    for (key, entry) in m["models"].as_object().unwrap() {
        let Some(images) = entry["images"].as_object() else { continue };
        let refs: Vec<_> = images
            .iter()
            .flat_map(|(img, spec)| {
                spec.as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| k.starts_with("occlusion_cv2"))
                    .map(move |(_, v)| (img, spec, v))
            })
            .collect();
        if refs.is_empty() {
            continue;
        }
        let model = load(&sh, entry);
        for (img, spec, r) in refs {
            let path = r["path"].as_str().unwrap();
            let (size, stride) = size_stride(path);
            let input = npy(&sh.join(spec["input"].as_str().unwrap()));
            let reference = npy(&sh.join(path));
            let occ = Occluder { size, stride, fill: Fill::Value(0.0) };
            let (_, maps) = occlusion(&model.graph, &input, &occ, None, None, BATCH_BYTES).unwrap();
            let ours = ArrayD::from_shape_vec(vec![maps.rows, maps.cols], maps.prob).unwrap();
            report.push((format!("{key} {img} size {size} stride {stride}"), rel_err(&ours, &reference)));
        }
    }
    for (name, err) in &report {
        println!("{name}: rel err {err:.2e}");
    }
    assert!(report.len() >= 5, "expected every occlusion_cv2 reference (5), found {}", report.len());
    for (name, err) in &report {
        assert!(*err <= 1e-4, "{name}: {err:e}");
    }
}

/// Each map from small batches equals the one from one forward pass per position.
#[test]
fn batched_maps_equal_single_passes() {
    let Some(sh) = shared() else { return };
    let m = manifest(&sh);
    let entry = &m["models"]["cifar10_quick_iter_5000_v1"];
    let model = load(&sh, entry);
    let g = &model.graph;
    let input = npy(&sh.join(entry["images"]["ship_0000"]["input"].as_str().unwrap()));
    let occ = Occluder { size: 10, stride: 5, fill: Fill::PerChannel(vec![-20.0, 5.0, 30.0]) };
    // A budget below one image's activations: batches of 1; then a few images per batch; then all at once.
    assert!((2..25).contains(&batch_size(g, input.shape(), 1_000_000).unwrap()));
    let runs: Vec<(Targets, Maps)> = [1, 1_000_000, BATCH_BYTES]
        .iter()
        .map(|&b| occlusion(g, &input, &occ, None, Some("relu2"), b).unwrap())
        .collect();
    let (targets, maps) = &runs[0];
    assert_eq!((maps.rows, maps.cols), (5, 5));
    let (id, ch) = targets.feature.unwrap();
    for p in 0..25 {
        let x = occ.occlude(&input, p..p + 1).unwrap();
        let acts = engine::forward(g, vec![x]).unwrap();
        let probs = probabilities(g, &acts).unwrap();
        let row: Vec<f32> = probs.index_axis(Axis(0), 0).iter().copied().collect();
        let top = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
        let feat = acts.values[id].index_axis(Axis(1), ch).sum();
        for (t, m) in &runs {
            assert_eq!(t, targets);
            assert!((m.prob[p] - row[targets.class]).abs() <= 1e-6 * row[targets.class].abs().max(1e-6), "prob at {p}");
            assert_eq!(m.argmax[p], top, "argmax at {p}");
            assert!(
                (m.feature[p] - feat).abs() <= 1e-6 * feat.abs().max(1.0),
                "feature at {p}: {} vs {feat}",
                m.feature[p]
            );
        }
    }
    // The strongest channel holds relu2's largest unit of the unoccluded image.
    let acts = engine::forward(g, vec![input.clone()]).unwrap();
    let a = &acts.values[id];
    let max = a.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(a.index_axis(Axis(1), ch).iter().copied().fold(f32::MIN, f32::max), max);
}

#[test]
fn squares_land_where_the_grid_says() {
    let image: Tensor = Array4::from_shape_fn((1, 2, 7, 9), |(_, c, y, x)| (100 * c + 10 * y + x) as f32).into_dyn();
    let occ = Occluder { size: 3, stride: 2, fill: Fill::PerChannel(vec![-1.0, -2.0]) };
    assert_eq!(occ.grid(7, 9).unwrap(), (3, 4));
    let batch = occ.occlude(&image, 5..12).unwrap();
    assert_eq!(batch.shape(), &[7, 2, 7, 9]);
    for (k, p) in (5..12).enumerate() {
        let (y0, x0) = (p / 4 * 2, p % 4 * 2);
        for ((_, c, y, x), &v) in batch
            .index_axis(Axis(0), k)
            .insert_axis(Axis(0))
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap()
            .indexed_iter()
        {
            let inside = (y0..y0 + 3).contains(&y) && (x0..x0 + 3).contains(&x);
            assert_eq!(v, if inside { -1.0 - c as f32 } else { image[[0, c, y, x]] });
        }
    }
    assert!(occ.occlude(&image, 10..13).is_err());
}

#[test]
fn bad_occluders_are_refused_with_their_values() {
    let msg = |o: Occluder| o.grid(32, 32).unwrap_err().to_string();
    assert!(msg(Occluder { size: 0, stride: 1, fill: Fill::Value(0.0) }).contains("size 0"));
    assert!(msg(Occluder { size: 4, stride: 0, fill: Fill::Value(0.0) }).contains("stride 0"));
    assert!(msg(Occluder { size: 33, stride: 1, fill: Fill::Value(0.0) }).contains("33"));
    let image: Tensor = ArrayD::zeros(vec![1, 3, 8, 8]);
    let e = Occluder { size: 2, stride: 2, fill: Fill::PerChannel(vec![0.0; 2]) }.occlude(&image, 0..1).unwrap_err();
    assert!(e.to_string().contains("2 fill values") && e.to_string().contains("3 channels"), "{e}");
}
