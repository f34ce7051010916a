//! Training with Caffe's semantics: the solver settings of a `solver.prototxt` and their learning-rate
//! schedules ([`solver`]), the SGD update with momentum, weight decay and per-blob multipliers ([`sgd`]),
//! each layer's `lr_mult`/`decay_mult` ([`params`]), the loss and accuracy layers ([`loss`]), the weight fillers ([`fillers`]) and the seeded random
//! numbers they draw from ([`rng`]); [`math`] keeps them the same bit for bit natively and in WebAssembly.

pub mod fillers;
pub mod loss;
pub mod math;
pub mod nets;
pub mod params;
pub mod rng;
pub mod sgd;
pub mod solver;
pub mod trainer;

pub use fillers::Filler;
pub use loss::{Accuracy, SoftmaxWithLoss};
pub use params::{layer_mults, param_mults, param_mults_of, Mults};
pub use rng::Rng;
pub use sgd::Sgd;
pub use solver::{LrPolicy, Overrides, Regularization, Solver};
pub use trainer::{Step, TestResult, Trainer};
