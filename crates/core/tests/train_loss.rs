//! SoftmaxWithLoss and Accuracy against PyTorch's cross_entropy and Caffe's accuracy rule
//! (tests/reference/train_loss.py).

use ndarray::{ArrayD, IxDyn};
use zfvis_core::train::{Accuracy, SoftmaxWithLoss};

fn reference() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/train_loss/reference.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn loss_gradient_and_accuracy_match_pytorch() {
    for (name, c) in reference().as_object().unwrap() {
        let shape: Vec<usize> = c["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let scores = ArrayD::from_shape_vec(IxDyn(&shape), floats(&c["scores"])).unwrap();
        let labels = floats(&c["labels"]);
        let ignore_label = c["ignore"].as_i64();
        let (loss, grad) = SoftmaxWithLoss { ignore_label }.forward_backward(&scores, &labels).unwrap();
        let want = c["loss"].as_f64().unwrap() as f32;
        assert!((loss - want).abs() <= 1e-6 * want.abs().max(1.0), "{name}: loss {loss}, PyTorch {want}");
        let err = grad.iter().zip(floats(&c["grad"])).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err <= 1e-7, "{name}: gradient differs by {err}");
        for (k, want) in c["accuracy"].as_object().unwrap() {
            let top_k = k.parse().unwrap();
            let got = Accuracy { top_k, ignore_label }.forward(&scores, &labels).unwrap();
            assert_eq!(got, want.as_f64().unwrap() as f32, "{name}: top-{k} accuracy");
        }
    }
}

#[test]
fn bad_labels_are_refused() {
    let scores = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0; 6]).unwrap();
    let e = SoftmaxWithLoss::default().forward_backward(&scores, &[0.0, 3.0]).unwrap_err();
    assert!(e.to_string().contains("label 3 is not a class"), "{e}");
    let e = SoftmaxWithLoss::default().forward_backward(&scores, &[0.0]).unwrap_err();
    assert!(e.to_string().contains("1 labels for scores of shape 2×3"), "{e}");
    assert!(Accuracy::default().forward(&scores, &[0.5, 1.0]).is_err());
    // Every label ignored: no loss, no gradient.
    let (loss, grad) = SoftmaxWithLoss { ignore_label: Some(7) }.forward_backward(&scores, &[7.0, 7.0]).unwrap();
    assert_eq!(loss, 0.0);
    assert!(grad.iter().all(|&g| g == 0.0));
}
