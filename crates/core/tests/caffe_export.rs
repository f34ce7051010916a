//! Exported .caffemodel files read back to the same weights (OpenCV dnn reads them too:
//! tests/reference/caffe_export.py).

mod common;
use common::*;
use zfvis_core::formats::{caffe, onnx};

#[test]
fn exported_caffemodels_read_back_to_the_same_weights() {
    let Some(sh) = shared() else { return };
    let dir = sh.join("fixtures/caffe/cifar10_quick");
    let prototxt = read(&dir.join("cifar10_quick.prototxt"));
    for (weights, same_as) in [
        ("cifar10_quick_iter_4000.caffemodel", "cifar10_quick_iter_4000.caffemodel"),
        ("cifar10_quick_iter_5000_v1.caffemodel", "cifar10_quick_iter_5000_v1.caffemodel"),
        ("cifar10_quick_iter_5000.caffemodel.h5", "cifar10_quick_iter_5000.from_h5.caffemodel"),
    ] {
        let model = caffe::load(&prototxt, &read(&dir.join(weights))).unwrap();
        let bytes = caffe::export::caffemodel(&model, "cifar10_quick").unwrap();
        let back = caffe::load(&prototxt, &bytes).unwrap();
        assert!(back.format.contains("binary V2"), "{}", back.format);
        let want = caffe::load(&prototxt, &read(&dir.join(same_as))).unwrap();
        let blobs = |m: &zfvis_core::formats::Model| -> Vec<(String, Vec<usize>, Vec<u32>)> {
            m.graph
                .nodes
                .iter()
                .flat_map(|n| {
                    n.weights()
                        .iter()
                        .map(|w| (n.name.clone(), w.shape().to_vec(), w.iter().map(|v| v.to_bits()).collect()))
                })
                .collect()
        };
        assert_eq!(blobs(&back), blobs(&want), "{weights}");
        assert_eq!(blobs(&back).len(), 10);
    }
}

#[test]
fn only_caffe_models_are_exported() {
    let Some(sh) = shared() else { return };
    let m = onnx::load(&read(&sh.join("fixtures/onnx/mnist-8.onnx"))).unwrap();
    let e = caffe::export::caffemodel(&m, "mnist").unwrap_err();
    assert!(e.to_string().contains("only a Caffe model"), "{e}");
}

#[test]
fn a_mean_image_round_trips_as_a_mean_binaryproto() {
    use zfvis_core::formats::caffe::{export::mean_binaryproto, read_mean};
    let mean = zfvis_core::ops::tensor(&[3, 2, 4], (0..24).map(|v| v as f32 * 1.5 - 7.0).collect());
    let bytes = mean_binaryproto(&mean).unwrap();
    assert_eq!(read_mean(&bytes).unwrap(), mean);
    assert!(mean_binaryproto(&zfvis_core::ops::tensor(&[2, 2], vec![0.0; 4])).is_err());
}
