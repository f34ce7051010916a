//! Built-in training nets: BVLC Caffe's LeNet (MNIST) and CIFAR-10 "quick", each a train_test prototxt
//! and its solver, written out from the settings of Caffe's examples.

pub const LENET_TRAIN_TEST: &str = include_str!("lenet_train_test.prototxt");
pub const LENET_SOLVER: &str = include_str!("lenet_solver.prototxt");
pub const CIFAR10_QUICK_TRAIN_TEST: &str = include_str!("cifar10_quick_train_test.prototxt");
pub const CIFAR10_QUICK_SOLVER: &str = include_str!("cifar10_quick_solver.prototxt");

/// The names [`builtin`] knows.
pub const NAMES: &[&str] = &["lenet", "cifar10_quick"];

/// A built-in net by name ("lenet", "cifar10_quick"): (train_test prototxt, solver prototxt).
pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "lenet" => Some((LENET_TRAIN_TEST, LENET_SOLVER)),
        "cifar10_quick" => Some((CIFAR10_QUICK_TRAIN_TEST, CIFAR10_QUICK_SOLVER)),
        _ => None,
    }
}
