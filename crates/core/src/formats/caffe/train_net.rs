//! A Caffe train_test prototxt read into what a trainer needs: the TRAIN-phase graph between the data and
//! the loss with freshly filled weights, the Data layers of both phases, the SoftmaxWithLoss and Accuracy
//! layers, each weight blob's lr_mult/decay_mult and the Dropout layers.
//!
//! The graph is built by the same reader as a deploy net ([`net::build`]), from the TRAIN phase's Data layer
//! and compute layers; weights are filled as Caffe's Net::Init does, layer by layer in net order (weights,
//! then bias) from one seeded [`Rng`].

use super::layers::{DATA_LAYERS, TRAINING_ONLY};
use super::net;
use super::proto::{loss_parameter::NormalizationMode, LayerParameter, NetParameter, Phase};
use super::prototxt;
use super::weights::BlobMap;
use crate::engine::infer_shapes;
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, Activation, Op};
use crate::train::fillers::layer_fillers;
use crate::train::params::{param_mults_of, Mults};
use crate::train::{Accuracy, Rng, SoftmaxWithLoss};
use crate::{bail, Error, Result};
use std::collections::HashMap;

/// A net ready to train.
#[derive(Debug, Clone)]
pub struct TrainNet {
    /// The TRAIN-phase layers between the data and the loss, weights filled; one input, the data blob,
    /// with shape [batch, C, H, W] (the TRAIN batch size, H and W after cropping).
    pub graph: Graph,
    /// The TRAIN-phase Data layer.
    pub train: DataSource,
    /// The TEST-phase Data layer, if the net has one.
    pub test: Option<DataSource>,
    pub loss: LossSpec,
    /// The Accuracy layers of either phase, in net order.
    pub accuracy: Vec<AccuracySpec>,
    /// Per graph node, (lr_mult, decay_mult) of each weight blob (empty for nodes without weights).
    pub mults: Vec<Mults>,
    /// The Dropout nodes (an identity in the graph; the trainer applies the mask) and their dropout_ratio.
    pub dropout: Vec<(usize, f32)>,
}

/// A Data layer: where its images come from and how they are transformed.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub layer: String,
    pub phase: Phase,
    /// The image blob (first top) and the label blob (second top).
    pub top: String,
    pub label: String,
    pub source: String,
    pub batch_size: usize,
    /// "LEVELDB" (Caffe's default) or "LMDB".
    pub backend: String,
    pub scale: f32,
    pub mean_file: Option<String>,
    pub mean_values: Vec<f32>,
    pub mirror: bool,
    /// 0: no crop.
    pub crop_size: usize,
}

/// The phases a loss or accuracy layer takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    pub train: bool,
    pub test: bool,
}

/// The SoftmaxWithLoss layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LossSpec {
    pub name: String,
    /// The scores blob it reads, and the graph value holding it at that point of the net.
    pub bottom: String,
    pub value: ValueId,
    /// The label blob (the Data layer's second top).
    pub label: String,
    pub loss_weight: f32,
    /// As the prototxt gives it (after Caffe's rule for the deprecated `normalize`); only modes that equal
    /// VALID for this net are accepted, since [`SoftmaxWithLoss`] computes VALID.
    pub normalization: NormalizationMode,
    pub loss: SoftmaxWithLoss,
    pub phases: Phases,
}

/// An Accuracy layer.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracySpec {
    pub name: String,
    pub bottom: String,
    pub value: ValueId,
    pub label: String,
    pub accuracy: Accuracy,
    pub phases: Phases,
}

fn ctx(l: &LayerParameter) -> String {
    format!("layer '{}' ({})", l.name(), l.r#type())
}

fn phase_name(p: Phase) -> &'static str {
    p.as_str_name()
}

/// A layer without its phase rules (it is passed to the reader, which keeps TEST-phase layers).
fn unruled(l: &LayerParameter) -> LayerParameter {
    LayerParameter { include: vec![], exclude: vec![], ..l.clone() }
}

fn data_source(l: &LayerParameter, phase: Phase, v1: bool) -> Result<DataSource> {
    if l.top.len() != 2 {
        bail!(model, "{} has {} top(s); training needs two, the images and the labels", ctx(l), l.top.len());
    }
    let dp = l.data_param.clone().unwrap_or_default();
    let batch_size = dp.batch_size() as usize;
    if batch_size == 0 {
        bail!(model, "{} has no batch_size", ctx(l));
    }
    let tp = l.transform_param.clone().unwrap_or_default();
    // V1 nets could put the transformation in data_param (Caffe's UpgradeNetDataTransformation moves it).
    let legacy = v1 && l.transform_param.is_none();
    let (scale, mean_file, mirror, crop_size) = if legacy {
        (dp.scale(), dp.mean_file.clone(), dp.mirror(), dp.crop_size())
    } else {
        (tp.scale(), tp.mean_file.clone(), tp.mirror(), tp.crop_size())
    };
    if mean_file.is_some() && !tp.mean_value.is_empty() {
        bail!(model, "{}: mean_file and mean_value cannot both be given", ctx(l));
    }
    if tp.crop_h.unwrap_or(0) > 0 || tp.crop_w.unwrap_or(0) > 0 {
        bail!(unsupported, "{}: crop_h/crop_w are not supported (crop_size is)", ctx(l));
    }
    Ok(DataSource {
        layer: l.name().to_string(),
        phase,
        top: l.top[0].clone(),
        label: l.top[1].clone(),
        source: dp.source().to_string(),
        batch_size,
        backend: dp.backend().as_str_name().to_string(),
        scale,
        mean_file,
        mean_values: tp.mean_value.clone(),
        mirror,
        crop_size: crop_size as usize,
    })
}

/// A loss or accuracy layer, with the number of compute layers before it.
struct Scorer<'a> {
    layer: &'a LayerParameter,
    before: usize,
    phases: Phases,
}

impl TrainNet {
    /// Reads a text train_test prototxt. `image_shape` is the dataset's C, H, W (MNIST [1, 28, 28],
    /// CIFAR-10 [3, 32, 32]); the Data layer's crop_size replaces H and W. `seed` seeds the weight fillers.
    pub fn build(prototxt: &[u8], image_shape: [usize; 3], seed: u64) -> Result<TrainNet> {
        Self::from_param(&prototxt::parse_text(prototxt)?, image_shape, seed)
    }

    /// [`TrainNet::build`] from a parsed net (V1 or V2).
    pub fn from_param(net: &NetParameter, image_shape: [usize; 3], seed: u64) -> Result<TrainNet> {
        if let Some(name) = net.input.first() {
            bail!(model, "the net declares input '{name}': a training net reads its images from a Data layer");
        }
        let (layers, v1) = prototxt::layers(net)?;
        let mut data: [Option<&LayerParameter>; 2] = [None, None];
        let mut losses = Vec::new();
        let mut accuracies = Vec::new();
        let mut computes: Vec<&LayerParameter> = Vec::new();
        for l in &layers {
            let ty = l.r#type();
            let phases =
                Phases { train: prototxt::in_phase(l, Phase::Train), test: prototxt::in_phase(l, Phase::Test) };
            if !phases.train && !phases.test {
                continue;
            }
            match ty {
                "Data" => {
                    for (slot, (phase, inside)) in
                        data.iter_mut().zip([(Phase::Train, phases.train), (Phase::Test, phases.test)])
                    {
                        if !inside {
                            continue;
                        }
                        if let Some(other) = slot {
                            bail!(
                                model,
                                "layers '{}' and '{}' are both Data layers in the {} phase; a training net has one per phase",
                                other.name(),
                                l.name(),
                                phase_name(phase)
                            );
                        }
                        *slot = Some(l);
                    }
                }
                "Input" => {
                    bail!(model, "{}: a training net reads its images from a Data layer, not an Input layer", ctx(l))
                }
                t if DATA_LAYERS.contains(&t) => bail!(
                    unsupported,
                    "{}: only Data layers are supported for training (the images come from the dataset)",
                    ctx(l)
                ),
                "SoftmaxWithLoss" => losses.push(Scorer { layer: l, before: computes.len(), phases }),
                "Accuracy" => accuracies.push(Scorer { layer: l, before: computes.len(), phases }),
                "Silence" => {}
                "HDF5Output" => bail!(unsupported, "{} is not supported in training", ctx(l)),
                t if TRAINING_ONLY.contains(&t) || t.ends_with("Loss") => {
                    bail!(unsupported, "{}: only SoftmaxWithLoss is supported for training", ctx(l))
                }
                "BatchNorm" => {
                    bail!(unsupported, "{}: BatchNorm in training needs batch statistics: not supported yet", ctx(l))
                }
                _ => {
                    if phases.train != phases.test {
                        let only = if phases.train { "TRAIN" } else { "TEST" };
                        bail!(
                            model,
                            "{} is only in the {only} phase: apart from data, loss and accuracy layers, the train and test nets must have the same layers",
                            ctx(l)
                        );
                    }
                    if let Some(p) = l.param.iter().find(|p| p.name.as_deref().is_some_and(|n| !n.is_empty())) {
                        bail!(
                            unsupported,
                            "{} shares the parameter blob '{}': weight sharing is not supported in training",
                            ctx(l),
                            p.name()
                        );
                    }
                    computes.push(l);
                }
            }
        }

        let Some(train_layer) = data[0] else {
            bail!(model, "the net has no Data layer in the TRAIN phase: training needs one")
        };
        let train = data_source(train_layer, Phase::Train, v1)?;
        let test = data[1].map(|l| data_source(l, Phase::Test, v1)).transpose()?;
        if let Some(t) = &test {
            if (&t.top, &t.label) != (&train.top, &train.label) {
                bail!(
                    model,
                    "the Data layers write different blobs: '{}' ({}, {}) in TRAIN, '{}' ({}, {}) in TEST",
                    train.layer,
                    train.top,
                    train.label,
                    t.layer,
                    t.top,
                    t.label
                );
            }
        }
        for l in &computes {
            if l.bottom.contains(&train.label) {
                bail!(
                    model,
                    "{} reads the label blob '{}': only the loss and accuracy layers may",
                    ctx(l),
                    train.label
                );
            }
        }

        // The loss.
        let loss_layer = match losses.as_slice() {
            [one] if one.phases.train => one,
            [one] => {
                bail!(model, "{} is only in the TEST phase: training needs the loss in the TRAIN phase", ctx(one.layer))
            }
            [] => bail!(model, "the net has no loss layer: training needs one SoftmaxWithLoss"),
            many => bail!(
                model,
                "the net has {} SoftmaxWithLoss layers ({}): training supports exactly one",
                many.len(),
                many.iter().map(|s| format!("'{}'", s.layer.name())).collect::<Vec<_>>().join(", ")
            ),
        };

        // The graph, by the deploy reader: the TRAIN Data layer (which becomes the input) and the compute
        // layers, their phase rules removed since the reader keeps TEST-phase layers.
        let mut list = vec![unruled(train_layer)];
        list.extend(computes.iter().map(|l| unruled(l)));
        let mut graph = net::build(net, &list, BlobMap::new())?.graph;
        if graph.inputs.len() != 1 || graph.nodes.len() != computes.len() {
            bail!(
                model,
                "the training graph has {} inputs and {} of {} layers (expected the Data layer's images as the one input)",
                graph.inputs.len(),
                graph.nodes.len(),
                computes.len()
            );
        }
        let [c, mut h, mut w] = image_shape;
        if train.crop_size > 0 {
            if train.crop_size > h || train.crop_size > w {
                bail!(
                    input,
                    "Data layer '{}': crop_size {} is larger than the {h}×{w} images",
                    train.layer,
                    train.crop_size
                );
            }
            (h, w) = (train.crop_size, train.crop_size);
        }
        let input_shapes = vec![vec![train.batch_size, c, h, w]];
        graph.inputs[0].1 = input_shapes[0].clone();

        // Weights, node by node in net order, each from its input shape.
        let mut mults_by_name: HashMap<String, Mults> = param_mults_of(net)?.into_iter().collect();
        let mut rng = Rng::new(seed);
        let mut mults = Vec::new();
        let mut dropout = Vec::new();
        for (i, mut node) in std::mem::take(&mut graph.nodes).into_iter().enumerate() {
            let layer = computes[i];
            let at = ctx(layer);
            let shapes = infer_shapes(&graph, &input_shapes)?;
            let ins: Vec<&[usize]> = node.inputs.iter().map(|&v| shapes[v].as_slice()).collect();
            let wshapes = match &node.op {
                Op::Scale(s) if ins.len() > 1 => {
                    if s.bias {
                        vec![ins[1].to_vec()]
                    } else {
                        vec![]
                    }
                }
                op => op.weight_shapes(ins[0]).map_err(|e| e.context(&at))?,
            };
            let trainable = matches!(
                node.op,
                Op::Conv(_) | Op::InnerProduct(_) | Op::Scale(_) | Op::Activation(Activation::PRelu { .. })
            );
            if !wshapes.is_empty() && !trainable {
                bail!(unsupported, "{at} has learned weights, which the trainer cannot train yet");
            }
            let fillers = layer_fillers(layer)?;
            let m = mults_by_name.remove(layer.name()).unwrap_or_default();
            if fillers.len() != wshapes.len() || m.len() != wshapes.len() {
                bail!(
                    model,
                    "{at}: {} weight blobs ({}) but {} fillers and {} lr_mult/decay_mult pairs",
                    wshapes.len(),
                    wshapes.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", "),
                    fillers.len(),
                    m.len()
                );
            }
            let weights = fillers
                .iter()
                .zip(&wshapes)
                .map(|(f, s)| f.fill(s, &mut rng))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| e.context(&at))?;
            *node.weights_mut() = weights;
            if layer.r#type() == "Dropout" {
                let ratio = layer.dropout_param.unwrap_or_default().dropout_ratio();
                if !(0.0..1.0).contains(&ratio) {
                    bail!(model, "{at}: dropout_ratio must be in [0, 1), not {ratio}");
                }
                dropout.push((i, ratio));
            }
            mults.push(m);
            graph.nodes.push(node);
        }
        let shapes = infer_shapes(&graph, &input_shapes)?;
        graph.prepare();

        // The value a loss or accuracy layer reads: its bottom as the layers before it left it.
        let resolve = |s: &Scorer| -> Result<(String, ValueId, String)> {
            let l = s.layer;
            if l.bottom.len() != 2 {
                bail!(model, "{} has {} bottoms; it needs two, the scores and the labels", ctx(l), l.bottom.len());
            }
            let (scores, label) = (&l.bottom[0], &l.bottom[1]);
            if *label != train.label {
                bail!(
                    model,
                    "{} reads labels from '{label}', but the Data layer's label blob is '{}'",
                    ctx(l),
                    train.label
                );
            }
            let value = graph.nodes[..s.before]
                .iter()
                .rev()
                .flat_map(|n| n.outputs.iter().rev())
                .chain(std::iter::once(&graph.inputs[0].0))
                .copied()
                .find(|&v| graph.values[v].blob == *scores)
                .ok_or_else(|| {
                    Error::model(format!("{} reads '{scores}', which no layer before it produces", ctx(l)))
                })?;
            let s = &shapes[value];
            if s.len() < 2 {
                bail!(model, "{} reads '{scores}' of shape {}: scores must be N×C or N×C×…", ctx(l), fmt_shape(s));
            }
            Ok((scores.clone(), value, label.clone()))
        };

        let l = loss_layer.layer;
        let (bottom, value, label) = resolve(loss_layer)?;
        let lp = l.loss_param.unwrap_or_default();
        let ignore_label = lp.ignore_label.map(i64::from);
        let normalization = match (lp.normalization, lp.normalize) {
            (None, Some(false)) => NormalizationMode::BatchSize,
            _ => lp.normalization(),
        };
        let inner: usize = shapes[value][2..].iter().product();
        let valid = match normalization {
            NormalizationMode::Valid => true,
            NormalizationMode::Full => ignore_label.is_none(),
            NormalizationMode::BatchSize => ignore_label.is_none() && inner == 1,
            NormalizationMode::None => false,
        };
        if !valid {
            bail!(
                unsupported,
                "{}: normalization {} is not supported yet (VALID is, and FULL or BATCH_SIZE where they equal it)",
                ctx(l),
                normalization.as_str_name()
            );
        }
        if l.softmax_param.is_some_and(|p| p.axis() != 1) {
            bail!(unsupported, "{}: only the softmax over axis 1 is supported", ctx(l));
        }
        let loss_weight = l.loss_weight.first().copied().unwrap_or(1.0);
        if !loss_weight.is_finite() {
            bail!(model, "{}: loss_weight must be a number", ctx(l));
        }
        let loss = LossSpec {
            name: l.name().to_string(),
            bottom,
            value,
            label,
            loss_weight,
            normalization,
            loss: SoftmaxWithLoss { ignore_label },
            phases: loss_layer.phases,
        };

        let accuracy = accuracies
            .iter()
            .map(|s| {
                let l = s.layer;
                let (bottom, value, label) = resolve(s)?;
                let p = l.accuracy_param.unwrap_or_default();
                if p.axis() != 1 {
                    bail!(unsupported, "{}: only the accuracy over axis 1 is supported", ctx(l));
                }
                let classes = shapes[value][1];
                let top_k = p.top_k() as usize;
                if top_k == 0 || top_k > classes {
                    bail!(model, "{}: top_k {top_k} must be between 1 and the {classes} classes", ctx(l));
                }
                Ok(AccuracySpec {
                    name: l.name().to_string(),
                    bottom,
                    value,
                    label,
                    accuracy: Accuracy { top_k, ignore_label: p.ignore_label.map(i64::from) },
                    phases: s.phases,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(TrainNet { graph, train, test, loss, accuracy, mults, dropout })
    }

    /// The shape of the data blob the graph takes: [batch, C, H, W].
    pub fn input_shape(&self) -> &[usize] {
        &self.graph.inputs[0].1
    }
}
