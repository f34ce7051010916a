//! Training in the page (www/train-worker.js): a [`Training`] runs the core's [`Trainer`] a few iterations
//! per call, stopping where the page has something to do (a test pass, a snapshot), and gives its loss,
//! test results, conv filters and weights as a .caffemodel.

use super::{from_js, js_error, to_js, GridJs, TileJs};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use zfvis_core::datasets::{cifar10, mnist, Dataset};
use zfvis_core::formats::caffe::export::{caffemodel, mean_binaryproto};
use zfvis_core::ops::Op;
use zfvis_core::train::{nets, Overrides, Solver, Trainer};
use zfvis_core::vis::tile;

/// The images to train and test on: the packed MNIST digits (`mnist`), or CIFAR-10 batches added one file
/// at a time (`cifar10`, then `addTrain` / `addTest`), so that no file is held twice.
#[wasm_bindgen]
pub struct TrainingData {
    train: cifar10::Batch,
    test: cifar10::Batch,
    /// The MNIST split, when the data are digits.
    mnist: Option<(Dataset, Dataset)>,
}

#[wasm_bindgen]
impl TrainingData {
    /// The packed MNIST file (www/data/mnist.bin): its first 8,000 digits train, the last 2,000 test.
    pub fn mnist(bytes: &[u8]) -> Result<TrainingData, JsError> {
        let all = Dataset::from_mnist(bytes).map_err(|e| js_error(e.context("the MNIST file")))?;
        if all.len() <= mnist::TRAIN_RECORDS {
            return Err(JsError::new(&format!(
                "the MNIST file holds {} digits; it needs more than {} (training, then test)",
                all.len(),
                mnist::TRAIN_RECORDS
            )));
        }
        let empty = || cifar10::Batch::new(Vec::new(), Vec::new());
        Ok(TrainingData { train: empty(), test: empty(), mnist: Some(all.split_at(mnist::TRAIN_RECORDS)) })
    }

    /// Empty CIFAR-10 data: add the batch files.
    pub fn cifar10() -> TrainingData {
        let empty = || cifar10::Batch::new(Vec::new(), Vec::new());
        TrainingData { train: empty(), test: empty(), mnist: None }
    }

    /// Adds a CIFAR-10 batch file (`data_batch_N.bin`) to the training images; `name` is for messages.
    #[wasm_bindgen(js_name = addTrain)]
    pub fn add_train(&mut self, bytes: &[u8], name: &str) -> Result<(), JsError> {
        Self::add(&mut self.train, bytes, name)
    }

    /// Adds a CIFAR-10 batch file (`test_batch.bin`) to the test images.
    #[wasm_bindgen(js_name = addTest)]
    pub fn add_test(&mut self, bytes: &[u8], name: &str) -> Result<(), JsError> {
        Self::add(&mut self.test, bytes, name)
    }

    fn add(to: &mut cifar10::Batch, bytes: &[u8], name: &str) -> Result<(), JsError> {
        let b = cifar10::parse(bytes).map_err(|e| js_error(e.context(name)))?;
        to.labels.extend_from_slice(&b.labels);
        to.images.extend_from_slice(&b.images);
        Ok(())
    }

    fn into_sets(self) -> Result<(Dataset, Option<Dataset>), JsError> {
        if let Some((train, test)) = self.mnist {
            return Ok((train, Some(test)));
        }
        if self.train.is_empty() {
            return Err(JsError::new("no CIFAR-10 training batch (data_batch_1.bin … data_batch_5.bin)"));
        }
        let test = (!self.test.is_empty()).then(|| self.test.into());
        Ok((self.train.into(), test))
    }
}

/// Page-side settings that replace the solver's (absent: the solver's own).
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase", default)]
struct TrainingOptions {
    /// Iterations to train.
    max_iter: Option<u32>,
    /// A snapshot every this many iterations (0: none but the last, when the solver asks for it).
    snapshot: Option<u32>,
    /// A test pass every this many iterations (0: none).
    test_interval: Option<u32>,
    /// Seed of the weight fillers and of the random crops and mirrors (default: the solver's, else 1).
    seed: Option<u32>,
}

fn options(opts: JsValue) -> Result<TrainingOptions, JsError> {
    if opts.is_undefined() || opts.is_null() {
        return Ok(TrainingOptions::default());
    }
    from_js(opts)
}

#[derive(Serialize)]
struct AccuracyJs {
    name: String,
    value: f32,
}

#[derive(Serialize)]
struct TestJs {
    iter: u32,
    loss: Option<f32>,
    accuracy: Vec<AccuracyJs>,
    images: usize,
}

#[wasm_bindgen]
pub struct Training {
    t: Trainer,
    /// The train_test prototxt (none when the net came inside the solver).
    net_text: Option<String>,
    /// The iteration of the last snapshot taken, so that each is due once.
    snapped_at: Option<u32>,
}

#[wasm_bindgen]
impl Training {
    /// A train_test prototxt (may be empty when the solver holds the net in `net_param`) and its solver,
    /// on these data (consumed); `opts`: {maxIter, snapshot, testInterval, seed}, each replacing the
    /// solver's.
    #[wasm_bindgen(constructor)]
    pub fn new(net: &str, solver: &str, data: TrainingData, opts: JsValue) -> Result<Training, JsError> {
        let solver = Solver::parse(solver.as_bytes()).map_err(|e| js_error(e.context("the solver")))?;
        let net = (!net.trim().is_empty()).then(|| net.to_string());
        Self::start(net, solver, data, options(opts)?)
    }

    /// A built-in net ("lenet", "cifar10_quick") with its solver.
    pub fn builtin(name: &str, data: TrainingData, opts: JsValue) -> Result<Training, JsError> {
        let (net, solver) = nets::builtin(name).ok_or_else(|| {
            JsError::new(&format!("no built-in net named '{name}' (there are {})", nets::NAMES.join(", ")))
        })?;
        Self::start(Some(net.to_string()), Solver::parse(solver.as_bytes()).map_err(js_error)?, data, options(opts)?)
    }

    fn start(
        net_text: Option<String>,
        mut solver: Solver,
        data: TrainingData,
        o: TrainingOptions,
    ) -> Result<Training, JsError> {
        let overrides = Overrides {
            max_iter: o.max_iter,
            snapshot: o.snapshot,
            test_interval: o.test_interval,
            seed: o.seed.map(u64::from),
        };
        let seed = overrides.apply(&mut solver);
        let (train, test) = data.into_sets()?;
        let t =
            Trainer::for_solver(net_text.as_deref().map(str::as_bytes), solver, train, test, seed).map_err(js_error)?;
        Ok(Training { t, net_text, snapped_at: None })
    }

    /// Up to `n` iterations; stops early before an iteration when a test pass is due, after one when a
    /// snapshot is, and when training is finished. Returns [iter, loss, rate] for each iteration done.
    pub fn run(&mut self, n: u32) -> Result<js_sys::Float32Array, JsError> {
        let mut out = Vec::with_capacity(3 * n as usize);
        for _ in 0..n {
            if self.finished() || self.test_due() {
                break;
            }
            let s = self.t.step().map_err(js_error)?;
            out.extend([s.iter as f32, s.loss, s.rate]);
            if self.snapshot_due() {
                break;
            }
        }
        Ok(js_sys::Float32Array::from(out.as_slice()))
    }

    /// Whether a test pass is due now: Caffe's schedule, and once more after the last iteration.
    #[wasm_bindgen(getter, js_name = testDue)]
    pub fn test_due(&self) -> bool {
        self.t.test_due()
    }

    /// A test pass: {iter, loss (null when the loss is not computed in TEST), accuracy: [{name, value}], images}.
    pub fn test(&mut self) -> Result<JsValue, JsError> {
        let r = self.t.test().map_err(js_error)?;
        let accuracy = r.accuracy.into_iter().map(|(name, value)| AccuracyJs { name, value }).collect();
        to_js(&TestJs { iter: r.iter, loss: r.loss, accuracy, images: r.images })
    }

    /// Whether the solver asks for a snapshot of the weights now (not yet taken by `snapshot`).
    #[wasm_bindgen(getter, js_name = snapshotDue)]
    pub fn snapshot_due(&self) -> bool {
        self.t.snapshot_due() && self.snapped_at != Some(self.t.iter())
    }

    /// The current weights as a V2 .caffemodel; marks the due snapshot taken.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, JsError> {
        self.snapped_at = Some(self.t.iter());
        self.caffemodel()
    }

    /// The training images' mean image as a mean.binaryproto, when the net names a `mean_file` (the page
    /// loads it with a snapshot); else undefined.
    #[wasm_bindgen(js_name = meanBinaryproto)]
    pub fn mean_binaryproto(&self) -> Result<Option<Vec<u8>>, JsError> {
        self.t.mean_image().map(|m| mean_binaryproto(&m)).transpose().map_err(js_error)
    }

    /// The current weights as a V2 .caffemodel.
    pub fn caffemodel(&self) -> Result<Vec<u8>, JsError> {
        caffemodel(&self.t.model(), &self.t.net().graph.name).map_err(js_error)
    }

    #[wasm_bindgen(getter)]
    pub fn finished(&self) -> bool {
        self.t.finished()
    }

    /// Iterations done.
    #[wasm_bindgen(getter)]
    pub fn iter(&self) -> u32 {
        self.t.iter()
    }

    #[wasm_bindgen(getter, js_name = maxIter)]
    pub fn max_iter(&self) -> u32 {
        self.t.solver().max_iter
    }

    /// Snapshot files are named `<prefix>_iter_<N>.caffemodel`, as Caffe names them.
    #[wasm_bindgen(getter, js_name = snapshotPrefix)]
    pub fn snapshot_prefix(&self) -> String {
        self.t.snapshot_prefix()
    }

    /// The net's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.t.net().graph.name.clone()
    }

    /// The first convolution's name (its filters are the ones to watch), if there is one.
    #[wasm_bindgen(getter, js_name = firstConv)]
    pub fn first_conv(&self) -> Option<String> {
        self.t.net().graph.nodes.iter().find(|n| matches!(n.op, Op::Conv(_))).map(|n| n.name.clone())
    }

    /// A layer's filters tiled as the page's filter view draws them (`opts` as `Model.tile`'s):
    /// {width, height, rgba, tiles, grid}.
    #[wasm_bindgen(js_name = filterGrid)]
    pub fn filter_grid(&self, layer: &str, opts: JsValue) -> Result<JsValue, JsError> {
        let o: TileJs = if opts.is_undefined() || opts.is_null() { TileJs::default() } else { from_js(opts)? };
        let node = self.t.net().graph.node(layer).ok_or_else(|| JsError::new(&format!("no layer named '{layer}'")))?;
        let weights =
            node.weights().first().ok_or_else(|| JsError::new(&format!("layer '{layer}' has no weights to tile")))?;
        let g =
            tile::tile_filters(weights, &o.options()?).map_err(|e| js_error(e.context(format!("layer '{layer}'"))))?;
        to_js(&GridJs::from(g))
    }

    /// The train_test prototxt: with a snapshot, the page loads it as a model.
    #[wasm_bindgen(js_name = netText)]
    pub fn net_text(&self) -> Result<String, JsError> {
        self.net_text
            .clone()
            .ok_or_else(|| JsError::new("the net came inside the solver (net_param): no prototxt text"))
    }
}
