//! `zfvis topk` on a CIFAR-10 batch file against the core's result, and a bad batch file.

#[path = "../../core/tests/common/mod.rs"]
mod common;
use common::{npz_member, shared};
use ndarray::{Array4, ArrayD};
use ndarray_npy::ReadNpyExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use zfvis_core::datasets::cifar10;
use zfvis_core::engine;
use zfvis_core::formats::caffe;
use zfvis_core::vis::topk::TopK;

fn zfvis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zfvis")).args(args).output().unwrap()
}

#[test]
fn topk_on_a_batch_file_equals_the_core() {
    let Some(sh) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let npz = std::fs::read(sh.join("fixtures/images/cifar10_test_10k.npz")).unwrap();
    let x = Array4::<u8>::read_npy(&npz_member(&npz, "x.npy")[..]).unwrap();
    let y = ndarray::Array1::<u8>::read_npy(&npz_member(&npz, "y.npy")[..]).unwrap();
    // The first 200 images (airplanes and automobiles) in the official layout.
    let n = 200;
    let planes: Vec<Vec<u8>> = (0..n)
        .map(|i| (0..3).flat_map(|c| (0..1024).map(move |p| (c, p))).map(|(c, p)| x[[i, p / 32, p % 32, c]]).collect())
        .collect();
    let bin = tmp.path().join("first200.bin");
    std::fs::write(&bin, cifar10::encode((0..n).map(|i| (y[i], &planes[i][..])))).unwrap();

    let d = sh.join("fixtures/caffe/cifar10_quick");
    let (proto, weights) = (d.join("cifar10_quick.prototxt"), d.join("cifar10_quick_iter_5000_v1.caffemodel"));
    let mean = d.join("mean_approx.binaryproto");
    let out = tmp.path().join("out");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let args = [
        "topk",
        &s(&proto),
        &s(&weights),
        "--images",
        &s(&bin),
        "--layer",
        "relu2",
        "--k",
        "9",
        "--mean",
        &s(&mean),
        "--channel-order",
        "RGB",
        "--batch",
        "64",
        "--zoom",
        "2",
        "-o",
        &s(&out),
    ];
    let o = zfvis(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("topk.json")).unwrap()).unwrap();
    assert!(out.join("relu2_projections.png").is_file() && out.join("relu2_patches.png").is_file());
    let png = image::open(out.join("relu2_patches.png")).unwrap();
    assert!(png.width() > 9 && png.height() > 32);

    // The core, on the same preprocessing (RGB planes minus the mean), all 200 images in one batch.
    let m = caffe::load(&std::fs::read(&proto).unwrap(), &std::fs::read(&weights).unwrap()).unwrap();
    let meanv: ArrayD<f32> = ndarray_npy::read_npy(d.join("mean_approx.npy")).unwrap();
    let mut blob = ndarray::Array4::<f32>::zeros((n, 3, 32, 32));
    for ((i, c, yy, xx), v) in blob.indexed_iter_mut() {
        *v = x[[i, yy, xx, c]] as f32 - meanv[[c, yy, xx]];
    }
    let acts = engine::forward(&m.graph, vec![blob.into_dyn()]).unwrap();
    let a = &acts.values[m.graph.value_id("relu2").unwrap()];
    let mut top = TopK::new(a.shape()[1], 9);
    top.add_batch(a, 0).unwrap();

    let entries = json["entries"].as_array().unwrap();
    assert_eq!(json["images"], n);
    assert_eq!(entries.len(), 32 * 9);
    let mut k = 0;
    for (ch, list) in top.channels().iter().enumerate() {
        for (r, e) in list.iter().enumerate() {
            let j = &entries[k];
            k += 1;
            assert_eq!((j["channel"].as_u64(), j["rank"].as_u64()), (Some(ch as u64), Some(r as u64)));
            assert_eq!(j["image"].as_u64(), Some(e.image as u64), "channel {ch} rank {r}");
            assert_eq!((j["y"].as_u64(), j["x"].as_u64()), (Some(e.y as u64), Some(e.x as u64)));
            let v = j["value"].as_f64().unwrap() as f32;
            assert!((v - e.value).abs() <= 1e-5 * e.value.abs().max(1.0), "{v} vs {}", e.value);
            assert_eq!(j["label"].as_str(), Some(["airplane", "automobile"][y[e.image] as usize]));
            assert!(j["patch"]["y1"].as_i64() >= j["patch"]["y0"].as_i64());
        }
    }

    // A file that is not whole records.
    let bad = tmp.path().join("bad.bin");
    std::fs::write(&bad, vec![0u8; 3073 * 2 + 5]).unwrap();
    let o = zfvis(&["topk", &s(&proto), &s(&weights), "--images", &s(&bad), "--layer", "relu2", "-o", &s(&out)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.bin") && err.contains("not a multiple of the record size 3073"), "{err}");

    // An unknown layer.
    let o = zfvis(&["topk", &s(&proto), &s(&weights), "--images", &s(&bin), "--layer", "nope", "-o", &s(&out)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no layer or value named 'nope'"));
}

#[test]
fn topk_on_a_folder_names_files() {
    let Some(sh) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = sh.join("fixtures/images/cifar10");
    let mut files: Vec<_> = std::fs::read_dir(&src).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().take(12) {
        std::fs::copy(f, tmp.path().join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(tmp.path().join("notes.txt"), "not an image").unwrap();
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let out = tmp.path().join("out");
    let o = zfvis(&[
        "topk",
        &s(d.join("cifar10_quick.prototxt")),
        &s(d.join("cifar10_quick_iter_5000_v1.caffemodel")),
        "--images",
        &s(tmp.path().to_path_buf()),
        "--layer",
        "relu1",
        "--k",
        "3",
        "--mean",
        &s(d.join("mean_approx.binaryproto")),
        "--channel-order",
        "RGB",
        "-o",
        &s(out.clone()),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("topk.json")).unwrap()).unwrap();
    assert_eq!(json["images"], 12);
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 32 * 3);
    for e in entries {
        let name = e["image"].as_str().unwrap();
        assert_eq!(name, files[e["index"].as_u64().unwrap() as usize].file_name().unwrap().to_str().unwrap());
    }
}
