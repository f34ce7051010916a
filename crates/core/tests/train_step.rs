//! Whole training steps against PyTorch (tests/reference/train_step.py, with Caffe's pooling and SGD
//! rules): on two small nets (LeNet-shaped; CIFAR-10-quick-shaped with padding and average pooling),
//! the loss, every weight blob's gradient, and the blobs after one and after three SGD steps with
//! momentum, weight decay, lr_mult 1/2 and the "inv" schedule, in f32 against torch's f64 run.

mod common;
use common::{npy, read};
use ndarray::ArrayD;
use std::path::PathBuf;
use zfvis_core::datasets::Dataset;
use zfvis_core::formats::caffe::train_net::TrainNet;
use zfvis_core::train::{Solver, Trainer};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/train_step")
}

fn npy64(name: &str) -> ArrayD<f64> {
    let p = dir().join(name);
    ndarray_npy::read_npy(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// max |ours − reference| / max |reference|.
fn rel(ours: &ArrayD<f32>, reference: &ArrayD<f64>) -> f64 {
    assert_eq!(ours.shape(), reference.shape());
    let diff = ours.iter().zip(reference).fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
    diff / reference.iter().fold(1e-30f64, |m, b| m.max(b.abs()))
}

#[test]
fn training_steps_match_pytorch() {
    let m: serde_json::Value = serde_json::from_slice(&read(&dir().join("manifest.json"))).unwrap();
    for (name, net) in m["nets"].as_object().unwrap() {
        let folder = dir().join(name);
        // The reference nets take data and label as inputs; a trainer reads them from a Data layer.
        let text = String::from_utf8(read(&folder.join("net.prototxt"))).unwrap();
        let shape: Vec<usize> = net["input_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let layers = &text[text.find("layer {").unwrap()..];
        let data = format!(
            "layer {{ name: \"data\" type: \"Data\" top: \"data\" top: \"label\" data_param {{ source: \"x\" batch_size: {} }} }}\n",
            shape[0]
        );
        let image = [shape[1], shape[2], shape[3]];
        let mut train_net = TrainNet::build(format!("name: \"{name}\"\n{data}{layers}").as_bytes(), image, 0).unwrap();
        let blob = |key: &str| npy(&dir().join(net["init"][key].as_str().unwrap()));
        let mut keys = vec![];
        for node in &mut train_net.graph.nodes {
            let count = node.weights().len();
            let blobs: Vec<String> = (0..count).map(|k| format!("{}.{k}", node.name)).collect();
            *node.weights_mut() = blobs.iter().map(|k| blob(k)).collect();
            keys.extend(blobs);
        }
        train_net.graph.prepare();
        let solver = Solver::parse(&read(&folder.join("solver.prototxt"))).unwrap();
        let pixels = vec![0u8; image.iter().product()];
        let one = Dataset::new(image, 10, vec![0], pixels).unwrap();
        let mut trainer = Trainer::new(train_net, solver, one, None, 0).unwrap();
        let batches: Vec<_> = net["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let labels = npy(&dir().join(b["label"].as_str().unwrap())).iter().copied().collect::<Vec<f32>>();
                (npy(&dir().join(b["data"].as_str().unwrap())), labels)
            })
            .collect();
        let f64s = &net["results"]["f64"];

        // Gradients on batch 0 at the initial blobs.
        let (loss, grads) = trainer.gradients(batches[0].0.clone(), &batches[0].1).unwrap();
        let loss_err = (loss as f64 - f64s["loss"].as_f64().unwrap()).abs() / f64s["loss"].as_f64().unwrap();
        assert!(loss_err < 1e-6, "{name}: loss {loss} vs {}", f64s["loss"]);
        let mut worst = 0f64;
        for (key, g) in keys.iter().zip(&grads) {
            let e = rel(g, &npy64(f64s["grads"][key].as_str().unwrap()));
            assert!(e < 1e-5, "{name} gradient {key}: relative error {e:.2e}");
            worst = worst.max(e);
        }
        println!("{name}: loss relative error {loss_err:.1e}, gradients ≤ {worst:.1e}");

        // Three steps, on batches 0, 1, 2.
        for (k, (x, labels)) in batches.iter().enumerate() {
            let step = trainer.step_on(vec![(x.clone(), labels.clone())]).unwrap();
            let want = f64s["losses"][k].as_f64().unwrap();
            assert!((step.loss as f64 - want).abs() < 1e-5 * want, "{name} step {}: loss {} vs {want}", k + 1, step.loss);
            let rate = f64s["rates"][k].as_f64().unwrap();
            assert!((step.rate as f64 - rate).abs() < 1e-7 * rate, "{name} step {}: rate {} vs {rate}", k + 1, step.rate);
            let Some(files) = f64s["steps"][k].as_object() else { continue };
            let blobs: Vec<&ArrayD<f32>> = trainer.net().graph.nodes.iter().flat_map(|n| n.weights()).collect();
            let mut worst = 0f64;
            for (key, w) in keys.iter().zip(blobs) {
                let reference = npy64(files[key].as_str().unwrap());
                let e = w.iter().zip(&reference).fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
                assert!(e < 1e-6, "{name} after step {}: {key} differs by {e:.2e}", k + 1);
                worst = worst.max(e);
            }
            println!("{name}: blobs after step {} within {worst:.1e}", k + 1);
        }
    }
}
