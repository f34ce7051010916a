//! mnist-8.onnx against onnxruntime's tensors in ../shared/reference.

mod common;
use common::*;
use zfvis_core::{engine, formats::onnx};

#[test]
fn mnist8_matches_onnxruntime_on_every_tensor() {
    let Some(sh) = shared() else { return };
    let model = onnx::load(&read(&sh.join("fixtures/onnx/mnist-8.onnx"))).unwrap();
    let dir = sh.join("reference/mnist-8/wonnx_5");
    let acts = engine::forward(&model.graph, vec![npy(&dir.join("input.npy"))]).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(tensor) = file.strip_prefix("ort_").and_then(|f| f.strip_suffix(".npy")) else { continue };
        let name = if tensor == "output" { "Plus214_Output_0" } else { tensor };
        let Some(ours) = acts.get(&model.graph, name) else {
            // Computed from initializers alone, so folded into a constant at load time.
            assert_eq!(name, "Parameter193_reshape1", "no tensor '{name}'");
            continue;
        };
        let err = rel_err(ours, &npy(&path));
        println!("mnist-8 {name}: rel err {err:.2e}");
        assert!(err <= 1e-4, "{name}: {err}");
        checked += 1;
    }
    assert_eq!(checked, 11);
}

#[test]
fn mnist8_deconvnet_matches_captum() {
    use zfvis_core::vis::projection::{project, strongest, Method, Options, SeedValue, Target, Unit};
    let Some(sh) = shared() else { return };
    let model = onnx::load(&read(&sh.join("fixtures/onnx/mnist-8.onnx"))).unwrap();
    let dir = sh.join("reference/mnist-8/wonnx_5");
    let g = &model.graph;
    let acts = engine::forward(g, vec![npy(&dir.join("input.npy"))]).unwrap();
    let logits = acts.get(g, "Plus214_Output_0").unwrap();
    let top1 = strongest(logits.as_slice().unwrap()).0;
    assert_eq!(top1, 5);
    let target = Target { value: "Plus214_Output_0".into(), channel: top1, unit: Unit::Max };
    let opts = Options { seed: Some(SeedValue::One), ..Options::default() };
    let ours = project(g, &acts, &target, Method::Deconvnet, opts).unwrap();
    let err = rel_err(&ours, &npy(&dir.join("captum_deconvolution_top1.npy")));
    println!("mnist-8 captum deconvolution: rel err {err:.2e}");
    assert!(err <= 1e-4, "{err}");
}

#[test]
fn bad_onnx_files_get_clear_messages() {
    let Some(sh) = shared() else { return };
    let bytes = read(&sh.join("fixtures/onnx/mnist-8.onnx"));
    let e = onnx::load(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(e.message.contains("not a readable .onnx model"), "{e}");
    assert!(onnx::load(b"").unwrap_err().message.contains("empty"));
}
