//! The Caffe loaders and the forward pass, run in Chromium against OpenCV's outputs in ../shared.
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[cfg(shared_fixtures)]
mod with_fixtures {
    use super::*;
    use ndarray::ArrayD;
    use ndarray_npy::ReadNpyExt;
    use zfvis_core::{engine, formats::caffe};

    macro_rules! shared {
        ($p:expr) => {
            include_bytes!(concat!(env!("ZFVIS_SHARED"), "/", $p)).as_slice()
        };
    }

    fn npy(bytes: &[u8]) -> ArrayD<f32> {
        ArrayD::<f32>::read_npy(bytes).unwrap()
    }

    fn check(weights: &[u8], dir: &str, refs: &[(&str, &[u8])]) {
        let proto = shared!("fixtures/caffe/cifar10_quick/cifar10_quick.prototxt");
        let model = caffe::load(proto, weights).unwrap();
        let input = npy(refs.iter().find(|(n, _)| *n == "input").unwrap().1);
        let acts = engine::forward(&model.graph, vec![input]).unwrap();
        for (layer, bytes) in refs.iter().filter(|(n, _)| *n != "input") {
            let want = npy(bytes);
            let got = acts.get(&model.graph, layer).unwrap();
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            let err = got.iter().zip(want.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
            assert!(err <= 1e-4, "{dir} {layer}: {err}");
        }
    }

    macro_rules! refs {
        ($dir:literal: $($layer:literal),*) => {
            &[("input", shared!(concat!("reference/", $dir, "/cat_0000/input.npy"))),
              $(($layer, shared!(concat!("reference/", $dir, "/cat_0000/cv2_", $layer, ".npy")))),*]
        };
    }

    #[wasm_bindgen_test]
    fn v1_caffemodel_matches_opencv() {
        check(
            shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_5000_v1.caffemodel"),
            "v1",
            refs!("cifar10_quick_iter_5000_v1": "conv1", "pool1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3", "ip1", "ip2", "prob"),
        );
    }

    #[wasm_bindgen_test]
    fn v2_caffemodel_matches_opencv() {
        check(
            shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel"),
            "v2",
            refs!("cifar10_quick_iter_4000": "conv1", "pool1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3", "ip1", "ip2", "prob"),
        );
    }

    #[wasm_bindgen_test]
    fn h5_matches_opencv() {
        check(
            shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_5000.caffemodel.h5"),
            "h5",
            refs!("cifar10_quick_iter_5000_h5": "conv1", "pool1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3", "ip1", "ip2", "prob"),
        );
    }

    #[wasm_bindgen_test]
    fn bindings_report_errors_as_exceptions() {
        let proto = shared!("fixtures/caffe/cifar10_quick/cifar10_quick.prototxt");
        let weights = shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel");
        assert!(zfvis_web::Model::load_caffe(proto, &weights[..weights.len() / 2]).is_err());
        let m = zfvis_web::Model::load_caffe(proto, weights).unwrap();
        assert!(m.tile("conv1", wasm_bindgen::JsValue::UNDEFINED).is_ok());
        assert!(m.tile("nope", wasm_bindgen::JsValue::UNDEFINED).is_err());
    }

    #[wasm_bindgen_test]
    fn model_reader_streams_weights_in_chunks() {
        let proto = shared!("fixtures/caffe/cifar10_quick/cifar10_quick.prototxt");
        let weights = shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel");
        let mut r = zfvis_web::ModelReader::caffe(proto.to_vec(), Some(weights.len() as f64));
        for c in weights.chunks(65536) {
            r.push(c).unwrap();
        }
        assert!(r.finish().unwrap().tile("conv1", wasm_bindgen::JsValue::UNDEFINED).is_ok());
        let onnx = shared!("fixtures/onnx/mnist-8.onnx");
        let mut r = zfvis_web::ModelReader::onnx(Some(onnx.len() as f64 + 1.0));
        for c in onnx.chunks(1000) {
            r.push(c).unwrap();
        }
        assert!(r.finish().is_err(), "one byte short of the announced size");
        assert!(zfvis_web::memory_bytes() > weights.len() as f64);
    }

    #[wasm_bindgen_test]
    fn bench_bindings_run_the_input_time_every_node_and_sgemm() {
        let proto = shared!("fixtures/caffe/cifar10_quick/cifar10_quick.prototxt");
        let weights = shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel");
        let mut m = zfvis_web::Model::load_caffe(proto, weights).unwrap();
        let input = npy(shared!("reference/cifar10_quick_iter_4000/cat_0000/input.npy"));
        let want = npy(shared!("reference/cifar10_quick_iter_4000/cat_0000/cv2_prob.npy"));
        let out = m.set_bench_input(input.iter().copied().collect()).unwrap();
        let err = out.iter().zip(want.iter()).fold(0f32, |e, (a, b)| e.max((a - b).abs()));
        assert!(out.len() == 10 && err <= 1e-5, "prob differs from OpenCV's by {err}");
        assert!(m.set_bench_input(vec![0.0; 7]).is_err(), "the input must have the model's size");
        m.run_forward().unwrap();
        m.run_projection("conv3").unwrap();
        let p = m.profile_forward(3).unwrap();
        let get = |v: &wasm_bindgen::JsValue, path: &[&str]| {
            path.iter().fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &(*k).into()).unwrap())
        };
        let nodes = js_sys::Array::from(&get(&p, &["nodes"]));
        assert_eq!(nodes.length(), 12, "one time per layer");
        let conv = nodes.iter().filter(|n| get(n, &["conv"]).as_bool() == Some(true)).count();
        assert_eq!(conv, 3);
        assert_eq!(get(&p, &["nodes", "0", "macs"]).as_f64(), Some(2_457_600.0));
        assert!(nodes.iter().all(|n| get(&n, &["ms"]).as_f64().is_some_and(|t| t >= 0.0)));
        assert_eq!(js_sys::Array::from(&get(&p, &["runs"])).length(), 3);
        let t = zfvis_web::bench_sgemm(32, 16, 8, 2);
        assert!(t.len() == 2 && t.iter().all(|&ms| ms > 0.0), "{t:?}");
    }

    #[wasm_bindgen_test]
    fn summary_carries_the_analysis() {
        let proto = shared!("fixtures/caffe/cifar10_quick/cifar10_quick.prototxt");
        let weights = shared!("fixtures/caffe/cifar10_quick/cifar10_quick_iter_4000.caffemodel");
        let s = zfvis_web::Model::load_caffe(proto, weights).unwrap().summary().unwrap();
        let get = |v: &wasm_bindgen::JsValue, path: &[&str]| {
            path.iter().fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &(*k).into()).unwrap())
        };
        assert_eq!(get(&s, &["totals", "macs"]).as_f64(), Some(12_354_176.0));
        assert_eq!(get(&s, &["totals", "activationBytes"]).as_f64(), Some(307_536.0));
        assert_eq!(get(&s, &["byType", "0", "type"]).as_string().as_deref(), Some("Convolution"));
        let conv1 = get(&s, &["layers", "0"]);
        assert_eq!(get(&conv1, &["macs"]).as_f64(), Some(2_457_600.0));
        assert_eq!(get(&conv1, &["receptiveField", "start", "1"]).as_f64(), Some(-2.0));
        assert!(get(&s, &["layers", "10", "receptiveField"]).is_null(), "ip2 has no spatial layout");
    }
}

#[cfg(not(shared_fixtures))]
#[wasm_bindgen_test]
fn fixtures_absent() {
    web_sys_log("SKIPPED: ../shared is absent; browser reference tests did not run");
}

#[cfg(not(shared_fixtures))]
fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{}", s);
}
