//! The `zfvis` binary against ../shared's fixtures and OpenCV references.

#[path = "../../core/tests/common/mod.rs"]
mod common;
use common::{npy, rel_err, shared};
use std::path::Path;
use std::process::{Command, Output};

fn zfvis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zfvis")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "zfvis failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn forward_dump_matches_opencv_on_every_layer() {
    let Some(sh) = shared() else { return };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sh.join("reference/manifest.json")).unwrap()).unwrap();
    let mut checked = 0;
    for key in ["cifar10_quick_iter_5000_v1", "cifar10_quick_iter_4000", "cifar10_quick_iter_5000_h5", "lenet"] {
        let m = &manifest["models"][key];
        for (img, spec) in m["images"].as_object().unwrap() {
            let dir = tempfile::tempdir().unwrap();
            let input = sh.join(spec["input"].as_str().unwrap());
            ok(&zfvis(&[
                "forward",
                s(&sh.join(m["prototxt"].as_str().unwrap())),
                s(&sh.join(m["weights"].as_str().unwrap())),
                "--input",
                s(&input),
                "--dump",
                s(dir.path()),
            ]));
            for (layer, b) in spec["blobs_cv2"].as_object().unwrap() {
                let want = npy(&sh.join(b["path"].as_str().unwrap()));
                let got = npy(&dir.path().join(format!("{layer}.npy")));
                let err = rel_err(&got, &want);
                println!("{key} {img} {layer}.npy: rel err {err:.2e}");
                assert!(err <= 1e-4, "{key} {img} {layer}: {err}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 12 + 12 + 12 + 8);
}

#[test]
fn top1_of_the_100_cifar_jpegs_equals_the_reference() {
    let Some(sh) = shared() else { return };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sh.join("reference/manifest.json")).unwrap()).unwrap();
    let m = &manifest["models"]["cifar10_quick_iter_5000_v1"];
    let files: Vec<String> = m["test_subset"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&sh.join(f.as_str().unwrap())).to_string())
        .collect();
    let want_top1: Vec<&str> =
        m["test_subset"]["top1"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let want_prob = npy(&sh.join(m["test_subset"]["prob_cv2"].as_str().unwrap()));
    let mean = sh.join("fixtures/caffe/cifar10_quick/mean_approx.binaryproto");
    let (proto, weights) = (sh.join(m["prototxt"].as_str().unwrap()), sh.join(m["weights"].as_str().unwrap()));
    let mut args = vec![
        "forward",
        s(&proto),
        s(&weights),
        "--mean",
        s(&mean),
        "--channel-order",
        "RGB",
        "--top",
        "10",
        "--json",
        "--image",
    ];
    args.extend(files.iter().map(|f| f.as_str()));
    let out: serde_json::Value = serde_json::from_str(&ok(&zfvis(&args))).unwrap();
    let rows = out.as_array().unwrap();
    assert_eq!(rows.len(), 100);
    let (mut same, mut worst) = (0, 0f32);
    for (i, row) in rows.iter().enumerate() {
        let top = row["top"].as_array().unwrap();
        if top[0]["label"] == want_top1[i] {
            same += 1;
        }
        for t in top {
            let c = t["index"].as_u64().unwrap() as usize;
            worst = worst.max((t["score"].as_f64().unwrap() as f32 - want_prob[[i, c]]).abs());
        }
    }
    println!("CLI: top-1 equal on {same}/100 CIFAR-10 JPEGs; max |prob − ref| {worst:.2e}");
    assert_eq!(same, 100);
    assert!(worst <= 1e-4);
}

#[test]
fn info_json_lists_layers_shapes_and_params() {
    let Some(sh) = shared() else { return };
    let d = sh.join("fixtures/caffe/lenet");
    let out: serde_json::Value = serde_json::from_str(&ok(&zfvis(&[
        "info",
        s(&d.join("lenet_iter_10000.caffemodel")),
        s(&d.join("lenet.prototxt")),
        "--json",
    ])))
    .unwrap();
    assert_eq!(out["params"], 431_080);
    assert_eq!(out["inputs"][0]["shape"], serde_json::json!([1, 1, 28, 28]));
    let pool2 = out["layers"].as_array().unwrap().iter().find(|l| l["name"] == "pool2").unwrap();
    assert_eq!(pool2["outputs"][0]["shape"], serde_json::json!([1, 50, 4, 4]));
    assert_eq!(pool2["type"], "Pooling");
    // conv2: 50×8×8 outputs of 20×5×5 products each; its field is 5 + 4·2 pixels wide.
    let conv2 = out["layers"].as_array().unwrap().iter().find(|l| l["name"] == "conv2").unwrap();
    assert_eq!(conv2["macs"], 1_600_000);
    assert_eq!(conv2["activationBytes"], 4 * 50 * 8 * 8);
    assert_eq!(conv2["receptiveField"], serde_json::json!({"size": [14, 14], "jump": [2, 2], "start": [0, 0]}));
    assert_eq!(out["layers"].as_array().unwrap().last().unwrap()["receptiveField"], serde_json::Value::Null);
    assert_eq!(out["totals"]["macs"], 2_293_000);
    assert_eq!(out["totals"]["params"], 431_080);
    assert_eq!(
        out["byType"][0],
        serde_json::json!({"type": "Convolution", "count": 2, "params": 25_570, "macs": 1_888_000, "activationBytes": 4 * (20 * 24 * 24 + 50 * 8 * 8)})
    );
    let text = ok(&zfvis(&["info", s(&d.join("lenet.prototxt")), s(&d.join("lenet_iter_10000.caffemodel"))]));
    assert!(
        text.contains(
            "conv2            Convolution    1×50×8×8                25050        1600000    12.5 KiB  14×14 jump 2×2 start 0,0"
        ),
        "{text}"
    );
    assert!(text.contains("total MACs: 2293000 (2.29 M)"), "{text}");
    assert!(text.contains("InnerProduct              2       405510           405000"), "{text}");
}

#[test]
fn export_writes_a_v2_caffemodel_that_loads() {
    let Some(sh) = shared() else { return };
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot.caffemodel");
    let proto = d.join("cifar10_quick.prototxt");
    let h5 = d.join("cifar10_quick_iter_5000.caffemodel.h5");
    assert!(ok(&zfvis(&["export", s(&proto), s(&h5), "-o", s(&out)])).contains("5 layers with weights"));
    let info = ok(&zfvis(&["info", s(&proto), s(&out)]));
    assert!(info.contains("binary V2"), "{info}");
    let onnx = sh.join("fixtures/onnx/mnist-8.onnx");
    let err = zfvis(&["export", s(&onnx), s(&proto), "-o", s(&out)]);
    assert!(!err.status.success());
}

#[test]
fn tile_writes_the_grid_png() {
    let Some(sh) = shared() else { return };
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("conv1.png");
    let (proto, weights) = (d.join("cifar10_quick.prototxt"), d.join("cifar10_quick_iter_4000.caffemodel"));
    let tile = |layer: &str, zoom: &str| {
        zfvis(&["tile", s(&proto), s(&weights), "--layer", layer, "--zoom", zoom, "-o", s(&png)])
    };
    let text = ok(&tile("conv1", "2"));
    assert!(text.contains("32 tiles in a 6×6 grid"), "{text}");
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (72, 72));
    let out = tile("pool1", "1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no weights to tile"));
}

#[test]
fn bad_input_fails_cleanly() {
    let Some(sh) = shared() else { return };
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let dir = tempfile::tempdir().unwrap();
    let weights = std::fs::read(d.join("cifar10_quick_iter_4000.caffemodel")).unwrap();
    let truncated = dir.path().join("truncated.caffemodel");
    std::fs::write(&truncated, &weights[..weights.len() / 2]).unwrap();
    let random = dir.path().join("random.caffemodel");
    std::fs::write(&random, (0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    let syntax = dir.path().join("syntax.prototxt");
    std::fs::write(
        &syntax,
        std::fs::read_to_string(d.join("cifar10_quick.prototxt"))
            .unwrap()
            .replace("kernel_size: 5", "kernel_size: five"),
    )
    .unwrap();
    let proto = d.join("cifar10_quick.prototxt");
    let lenet = sh.join("fixtures/caffe/lenet/lenet.prototxt");
    let good = d.join("cifar10_quick_iter_4000.caffemodel");
    let cases: [(&Path, &Path, &str); 4] = [
        (&proto, &truncated, "truncated"),
        (&proto, &random, "not a binary .caffemodel"),
        (&syntax, &good, "syntax error: line 22, column 18: expected an integer"),
        (&lenet, &good, "layer 'conv1' (Convolution): blob 0 has shape 32×3×5×5"),
    ];
    for (p, w, want) in cases {
        let out = zfvis(&["info", s(p), s(w)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.starts_with("error: ") && err.contains(want), "want '{want}' in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    ok(&zfvis(&["info", s(&proto), s(&good)]));
}

#[test]
fn image_preprocessing_reproduces_the_reference_inputs() {
    let Some(sh) = shared() else { return };
    let cases = [
        // cifar10_quick: RGB planes, 0..255 minus the pixel-wise mean, no scale.
        (
            "caffe/cifar10_quick/cifar10_quick.prototxt",
            "caffe/cifar10_quick/cifar10_quick_iter_5000_v1.caffemodel",
            "images/cifar10/cat_0000.jpg",
            "reference/cifar10_quick_iter_5000_v1/cat_0000/input.npy",
            vec!["--mean", "MEAN", "--channel-order", "RGB"],
        ),
        // LeNet: grey × 1/256.
        (
            "caffe/lenet/lenet.prototxt",
            "caffe/lenet/lenet_iter_10000.caffemodel",
            "images/mnist/wonnx_5.jpg",
            "reference/lenet/wonnx_5/input.npy",
            vec!["--scale", "0.00390625"],
        ),
    ];
    let mean = sh.join("fixtures/caffe/cifar10_quick/mean_approx.binaryproto");
    for (proto, weights, image, reference, flags) in cases {
        let dir = tempfile::tempdir().unwrap();
        let f = |p: &str| sh.join("fixtures").join(p);
        let (proto, weights, image) = (f(proto), f(weights), f(image));
        let mut args = vec!["forward", s(&proto), s(&weights), "--dump", s(dir.path()), "--image", s(&image)];
        args.extend(flags.iter().map(|a| if *a == "MEAN" { s(&mean) } else { a }));
        ok(&zfvis(&args));
        let (got, want) = (npy(&dir.path().join("data.npy")), npy(&sh.join(reference)));
        assert_eq!(rel_err(&got, &want), 0.0, "{}", image.display());
    }
}

#[test]
fn project_writes_reference_projections_and_pngs() {
    let Some(sh) = shared() else { return };
    let d = sh.join("fixtures/caffe/cifar10_quick");
    let (proto, weights) = (d.join("cifar10_quick.prototxt"), d.join("cifar10_quick_iter_5000_v1.caffemodel"));
    let input = sh.join("reference/cifar10_quick_iter_5000_v1/cat_0000/input.npy");
    let dir = tempfile::tempdir().unwrap();
    let project = |extra: &[&str], out: &Path| {
        let mut args = vec!["project", s(&proto), s(&weights), "--input", s(&input), "-o", s(out)];
        args.extend_from_slice(extra);
        zfvis(&args)
    };
    for (unit, file) in [("max", "zf_relu2_c6_max.npy"), ("map", "zf_relu2_c6_map.npy")] {
        let out = dir.path().join(format!("{unit}.npy"));
        ok(&project(&["--layer", "relu2", "--channel", "6", "--unit", unit], &out));
        let want = npy(&sh.join("reference/cifar10_quick_iter_5000_v1/cat_0000").join(file));
        assert!(rel_err(&npy(&out), &want) <= 1e-4, "{unit}");
    }
    for method in ["deconvnet", "guided", "saliency", "gradcam"] {
        let out = dir.path().join(format!("{method}.png"));
        let layer = if method == "gradcam" { "relu3" } else { "relu2" };
        ok(&project(&["--layer", layer, "--channel", "6", "--method", method], &out));
        let img = image::open(&out).unwrap();
        assert_eq!((img.width(), img.height()), (32, 32), "{method}");
    }
    let cam = dir.path().join("cam.npy");
    ok(&project(&["--layer", "relu3", "--method", "gradcam", "--class", "3"], &cam));
    assert_eq!(npy(&cam).shape(), &[1, 1, 8, 8]);
    let bad = project(&["--layer", "relu2", "--channel", "99"], &cam);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no channel 99"));
}
