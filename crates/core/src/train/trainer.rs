//! A training run with Caffe's semantics: a [`TrainNet`] fed from [`Dataset`]s the way Caffe's Data
//! layers read a database (records in order, wrapping around; `(pixel − mean) · scale`, random crops and
//! mirrors in TRAIN, centre crops in TEST), SoftmaxWithLoss, the true backward pass, and the SGD update
//! of the solver. The caller drives the loop as Caffe's `Solver::Solve` does:
//!
//! ```text
//! while !t.finished() {
//!     if t.test_due() { t.test()? }
//!     t.step()?;
//!     if t.snapshot_due() { /* keep t.model() */ }
//! }
//! if t.test_due() { t.test()? } // the weights reached, once more
//! ```

use super::{Rng, Sgd, Solver};
use crate::datasets::Dataset;
use crate::engine::{self, backward::gradients};
use crate::formats::caffe::train_net::{DataSource, TrainNet};
use crate::formats::{Model, Transform};
use crate::{bail, Result, Tensor};

/// One training iteration's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The iteration just done (0-based).
    pub iter: u32,
    /// The loss, averaged over `iter_size` batches.
    pub loss: f32,
    /// The learning rate used.
    pub rate: f32,
}

/// A test pass: each output averaged over `test_iter` batches, as Caffe reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// Iterations done when it ran.
    pub iter: u32,
    pub loss: Option<f32>,
    /// (layer name, value) of every Accuracy layer of the TEST phase.
    pub accuracy: Vec<(String, f32)>,
    /// Images evaluated.
    pub images: usize,
}

/// One phase's data: the records and where the next batch starts.
struct Feed {
    data: Dataset,
    source: DataSource,
    cursor: usize,
}

pub struct Trainer {
    net: TrainNet,
    sgd: Sgd,
    iter: u32,
    train: Feed,
    test: Option<Feed>,
    /// C×H×W mean subtracted before scaling (the mean image, or the mean values per channel).
    mean: Option<Vec<f32>>,
    /// The iteration of the last test pass.
    tested_at: Option<u32>,
    rng: Rng,
}

impl Trainer {
    /// `test` feeds the TEST phase (needed when the solver tests). A `mean_file` in the net stands for the
    /// mean image of `train`, as Caffe's compute_image_mean makes it from the training database.
    pub fn new(net: TrainNet, solver: Solver, train: Dataset, test: Option<Dataset>, seed: u64) -> Result<Self> {
        let shape = train.shape();
        if let Some(t) = &test {
            if t.shape() != shape {
                bail!(input, "the test images are {:?}, the training images {:?}", t.shape(), shape);
            }
        }
        if train.is_empty() {
            bail!(input, "the training set is empty");
        }
        if !net.dropout.is_empty() {
            let (node, _) = net.dropout[0];
            bail!(model, "layer '{}' (Dropout): dropout in training is not supported yet", net.graph.nodes[node].name);
        }
        let mean = mean(&net.train, &train)?;
        let test = match (test, net.test.clone()) {
            (Some(data), Some(source)) => Some(Feed { data, source, cursor: 0 }),
            (None, Some(_)) if solver.test_interval > 0 && !solver.test_iter.is_empty() => {
                bail!(input, "the solver tests every {} iterations: it needs test images", solver.test_interval)
            }
            _ => None,
        };
        let source = net.train.clone();
        Ok(Trainer { net, sgd: Sgd::new(solver), iter: 0, train: Feed { data: train, source, cursor: 0 }, test, mean, tested_at: None, rng: Rng::new(seed) })
    }

    /// A trainer for a solver and its net: the train_test prototxt's text, or else the solver's own
    /// `net_param`; the net's weights filled with `seed`.
    pub fn for_solver(net: Option<&[u8]>, solver: Solver, train: Dataset, test: Option<Dataset>, seed: u64) -> Result<Self> {
        let net = match (net, &solver.net_param) {
            (Some(text), _) => TrainNet::build(text, train.shape(), seed),
            (None, Some(p)) => TrainNet::from_param(p, train.shape(), seed),
            (None, None) => bail!(input, "no net: give its train_test prototxt (the solver holds none)"),
        }
        .map_err(|e| e.context("the net"))?;
        Self::new(net, solver, train, test, seed)
    }

    /// The snapshots' file name prefix: the solver's `snapshot_prefix` without its folders (Caffe's often
    /// hold a path, examples/mnist/lenet), else the net's name.
    pub fn snapshot_prefix(&self) -> String {
        let prefix = self.sgd.solver.snapshot_prefix.clone().unwrap_or_else(|| self.net.graph.name.clone());
        prefix.rsplit(['/', '\\']).next().filter(|p| !p.is_empty()).unwrap_or("net").to_string()
    }

    pub fn solver(&self) -> &Solver {
        &self.sgd.solver
    }

    pub fn net(&self) -> &TrainNet {
        &self.net
    }

    /// Iterations done.
    pub fn iter(&self) -> u32 {
        self.iter
    }

    pub fn finished(&self) -> bool {
        self.iter >= self.sgd.solver.max_iter
    }

    /// Whether a test pass is due now: before an iteration when Caffe's schedule runs one, and after the
    /// last iteration; never twice at the same iteration.
    pub fn test_due(&self) -> bool {
        let s = &self.sgd.solver;
        let scheduled = self.iter.is_multiple_of(s.test_interval) && (self.iter > 0 || s.test_initialization);
        self.test.is_some()
            && s.test_interval > 0
            && !s.test_iter.is_empty()
            && (scheduled || self.finished())
            && self.tested_at != Some(self.iter)
    }

    /// Whether Caffe would snapshot after the iteration just done.
    pub fn snapshot_due(&self) -> bool {
        let s = &self.sgd.solver;
        (s.snapshot > 0 && self.iter > 0 && self.iter.is_multiple_of(s.snapshot)) || (self.finished() && s.snapshot_after_train)
    }

    /// The next `n` images of a feed as an N×C×H×W batch and their labels.
    fn batch(&mut self, train: bool) -> (Tensor, Vec<f32>) {
        let feed = if train { &mut self.train } else { self.test.as_mut().expect("a test feed") };
        let [c, h, w] = feed.data.shape();
        let src = &feed.source;
        let crop = src.crop_size;
        let (oh, ow) = if crop > 0 { (crop, crop) } else { (h, w) };
        let n = src.batch_size;
        let mut data = Vec::with_capacity(n * c * oh * ow);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let i = feed.cursor;
            feed.cursor = (feed.cursor + 1) % feed.data.len();
            let image = feed.data.image(i);
            labels.push(feed.data.label(i) as f32);
            let (y0, x0) = match (crop > 0, train) {
                (false, _) => (0, 0),
                (true, true) => ((self.rng.next_u64() % (h - crop + 1) as u64) as usize, (self.rng.next_u64() % (w - crop + 1) as u64) as usize),
                (true, false) => ((h - crop) / 2, (w - crop) / 2),
            };
            let mirror = train && src.mirror && self.rng.next_u64() % 2 == 1;
            for ch in 0..c {
                for y in 0..oh {
                    for x in 0..ow {
                        let sx = if mirror { ow - 1 - x } else { x };
                        let at = (ch * h + y0 + y) * w + x0 + sx;
                        let m = self.mean.as_ref().map_or(0.0, |m| m[at]);
                        data.push((image[at] as f32 - m) * src.scale);
                    }
                }
            }
        }
        (crate::ops::tensor(&[n, c, oh, ow], data), labels)
    }

    /// One iteration: forward and backward over `iter_size` batches of the TRAIN data, then the SGD update.
    pub fn step(&mut self) -> Result<Step> {
        let batches = (0..self.sgd.solver.iter_size.max(1)).map(|_| self.batch(true)).collect();
        self.step_on(batches)
    }

    /// One iteration on these batches (N×C×H×W inputs and their labels): their gradients summed, then
    /// the SGD update (which divides by `iter_size`).
    pub fn step_on(&mut self, batches: Vec<(Tensor, Vec<f32>)>) -> Result<Step> {
        if self.finished() {
            bail!(input, "training is finished: {} of {} iterations done", self.iter, self.sgd.solver.max_iter);
        }
        let count = batches.len().max(1);
        let mut sum: Vec<Tensor> = vec![];
        let mut loss = 0f32;
        for (x, labels) in batches {
            let (l, grads) = self.gradients(x, &labels)?;
            loss += l;
            match sum.is_empty() {
                true => sum = grads,
                false => sum.iter_mut().zip(&grads).for_each(|(a, g)| *a += g),
            }
        }
        let mults: Vec<(f32, f32)> = self.net.mults.iter().flatten().copied().collect();
        let counts: Vec<usize> = self.net.graph.nodes.iter().map(|n| n.weights().len()).collect();
        let mut params: Vec<Tensor> =
            self.net.graph.nodes.iter_mut().flat_map(|n| std::mem::take(n.weights_mut())).collect();
        let rate = self.sgd.step(&mut params, &sum, &mults, self.iter);
        // The blobs go back whatever the step said.
        let mut blobs = params.into_iter();
        for (node, count) in self.net.graph.nodes.iter_mut().zip(counts) {
            *node.weights_mut() = blobs.by_ref().take(count).collect();
        }
        self.net.graph.prepare();
        let step = Step { iter: self.iter, loss: loss / count as f32, rate: rate? };
        self.iter += 1;
        Ok(step)
    }

    /// The loss on one batch and the gradient of every weight blob, in node order (zeros for blobs that
    /// got none).
    pub fn gradients(&self, x: Tensor, labels: &[f32]) -> Result<(f32, Vec<Tensor>)> {
        let acts = engine::forward(&self.net.graph, vec![x])?;
        let spec = &self.net.loss;
        let (loss, mut dscores) = spec.loss.forward_backward(&acts.values[spec.value], labels)?;
        dscores *= spec.loss_weight;
        let g = gradients(&self.net.graph, &acts, spec.value, dscores)?;
        let grads = self
            .net
            .graph
            .nodes
            .iter()
            .zip(g.weights)
            .flat_map(|(node, grads)| {
                node.weights().iter().zip(grads).map(|(w, g)| g.unwrap_or_else(|| Tensor::zeros(w.raw_dim())))
            })
            .collect();
        Ok((loss * spec.loss_weight, grads))
    }

    /// A test pass over `test_iter[0]` batches of the TEST data.
    pub fn test(&mut self) -> Result<TestResult> {
        if self.test.is_none() {
            bail!(input, "no test data");
        }
        self.tested_at = Some(self.iter);
        let batches = self.sgd.solver.test_iter.first().copied().unwrap_or(0) as usize;
        let mut loss = 0f64;
        let mut acc = vec![0f64; self.net.accuracy.len()];
        let mut images = 0;
        for _ in 0..batches {
            let (x, labels) = self.batch(false);
            images += labels.len();
            let acts = engine::forward(&self.net.graph, vec![x])?;
            if self.net.loss.phases.test {
                let spec = &self.net.loss;
                loss += (spec.loss.forward_backward(&acts.values[spec.value], &labels)?.0 * spec.loss_weight) as f64;
            }
            for (a, spec) in acc.iter_mut().zip(&self.net.accuracy) {
                if spec.phases.test {
                    *a += spec.accuracy.forward(&acts.values[spec.value], &labels)? as f64;
                }
            }
        }
        let n = batches.max(1) as f64;
        let accuracy = self
            .net
            .accuracy
            .iter()
            .zip(acc)
            .filter(|(s, _)| s.phases.test)
            .map(|(s, a)| (s.name.clone(), (a / n) as f32))
            .collect();
        let loss = self.net.loss.phases.test.then_some((loss / n) as f32);
        Ok(TestResult { iter: self.iter, loss, accuracy, images })
    }

    /// The mean image that stands for the net's `mean_file` (C×H×W, the training images' mean), if it has one.
    pub fn mean_image(&self) -> Option<Tensor> {
        let [c, h, w] = self.train.data.shape();
        let mean = self.mean.as_ref().filter(|_| self.net.train.mean_file.is_some())?;
        Some(crate::ops::tensor(&[c, h, w], mean.clone()))
    }

    /// The net as it is now, as a model the visualizations and the exporter take (its preprocessing is the
    /// TRAIN data layer's).
    pub fn model(&self) -> Model {
        let s = &self.net.train;
        Model {
            graph: self.net.graph.clone(),
            format: "Caffe (trained here)".into(),
            notes: vec![format!("trained for {} iterations", self.iter)],
            transform: Transform {
                scale: (s.scale != 1.0).then_some(s.scale),
                mean_values: s.mean_values.clone(),
                mean_file: s.mean_file.clone(),
                crop_size: (s.crop_size > 0).then_some(s.crop_size),
            },
        }
    }
}

/// The mean the data layer subtracts, as C×H×W values: the training images' mean image for a
/// `mean_file`, the `mean_value`s per channel, or none.
fn mean(source: &DataSource, train: &Dataset) -> Result<Option<Vec<f32>>> {
    let [c, h, w] = train.shape();
    if source.mean_file.is_some() {
        let mut sum = vec![0f64; c * h * w];
        for i in 0..train.len() {
            sum.iter_mut().zip(train.image(i)).for_each(|(s, &p)| *s += p as f64);
        }
        return Ok(Some(sum.into_iter().map(|s| (s / train.len() as f64) as f32).collect()));
    }
    match source.mean_values.len() {
        0 => Ok(None),
        k if k == 1 || k == c => {
            Ok(Some((0..c * h * w).map(|i| source.mean_values[if k == 1 { 0 } else { i / (h * w) }]).collect()))
        }
        k => bail!(model, "layer '{}': {k} mean values for {c} channels", source.layer),
    }
}
