//! Builds a deploy [`Graph`] from a Caffe net definition and its learned blobs.

use super::layers::{op_for, DATA_LAYERS, TRAINING_ONLY};
use super::proto::{LayerParameter, NetParameter, Phase};
use super::weights::{Blob, BlobMap};
use crate::formats::Transform;
use crate::graph::{Graph, Node, Value, ValueId};
use crate::ops::{fmt_shape, Op};
use crate::{bail, Error, Result};
use std::collections::{HashMap, HashSet};

/// A graph whose weights still have the shapes the weights file gave them.
pub struct Draft {
    pub graph: Graph,
    /// Per node and blob: the blob's shape came from the legacy 4-D fields.
    legacy: Vec<Vec<bool>>,
    /// Per graph input: declared, or unknown (a training Data layer).
    declared: Vec<Option<Vec<usize>>>,
    /// Crop size of each input's transform, when one is set.
    crop: Vec<Option<usize>>,
    pub notes: Vec<String>,
    pub transform: Transform,
    /// Nodes that need weights the weights file does not have.
    missing: Vec<usize>,
    /// Layer names that have weights in the weights file.
    available: Vec<String>,
}

fn has_weights(op: &Op, bottoms: usize) -> bool {
    match op {
        Op::Conv(_) | Op::InnerProduct(_) | Op::BatchNorm(_) => true,
        Op::Activation(crate::ops::Activation::PRelu { .. }) => true,
        // With two bottoms γ is the second bottom, and the only blob is the bias, if any.
        Op::Scale(s) => bottoms == 1 || s.bias,
        _ => false,
    }
}

struct Builder {
    graph: Graph,
    /// Caffe blob name -> the value it currently holds (in-place layers rebind it).
    current: HashMap<String, ValueId>,
    names: HashSet<String>,
}

impl Builder {
    fn new_value(&mut self, name: &str, blob: &str) -> ValueId {
        let mut unique = name.to_string();
        let mut k = 2;
        while !self.names.insert(unique.clone()) {
            unique = format!("{name}#{k}");
            k += 1;
        }
        self.graph.values.push(Value { name: unique, blob: blob.to_string() });
        let id = self.graph.values.len() - 1;
        self.current.insert(blob.to_string(), id);
        id
    }
}

fn shape_of(dims: &[i64], what: &str) -> Result<Vec<usize>> {
    dims.iter()
        .map(|&d| {
            if d > 0 {
                Ok(d as usize)
            } else {
                Err(Error::model(format!("{what} has a non-positive dimension in {dims:?}")))
            }
        })
        .collect()
}

/// The declared shapes of the old-style `input:` fields.
fn net_inputs(net: &NetParameter) -> Result<Vec<(String, Vec<usize>)>> {
    let mut out = Vec::new();
    for (i, name) in net.input.iter().enumerate() {
        let shape = if let Some(s) = net.input_shape.get(i) {
            shape_of(&s.dim, &format!("input_shape of '{name}'"))?
        } else if net.input_dim.len() >= 4 * (i + 1) {
            shape_of(
                &net.input_dim[4 * i..4 * i + 4].iter().map(|&d| d as i64).collect::<Vec<_>>(),
                &format!("input_dim of '{name}'"),
            )?
        } else {
            bail!(model, "input '{name}' has no input_shape or input_dim");
        };
        out.push((name.clone(), shape));
    }
    Ok(out)
}

/// The shape a data layer declares itself, if any (without batch).
fn data_layer_shape(l: &LayerParameter) -> Option<Vec<usize>> {
    match l.r#type() {
        "MemoryData" => {
            let p = l.memory_data_param.unwrap_or_default();
            Some(vec![1, p.channels() as usize, p.height() as usize, p.width() as usize])
        }
        "DummyData" => {
            let p = l.dummy_data_param.clone().unwrap_or_default();
            p.shape.first().and_then(|s| shape_of(&s.dim, "DummyData").ok())
        }
        _ => None,
    }
}

pub fn build(net: &NetParameter, layers: &[LayerParameter], mut blobs: BlobMap) -> Result<Draft> {
    let mut b = Builder {
        graph: Graph { name: net.name().to_string(), ..Graph::default() },
        current: HashMap::new(),
        names: HashSet::new(),
    };
    let mut declared = Vec::new();
    let mut crop = Vec::new();
    let mut notes = Vec::new();
    let mut transform = Transform::default();
    let mut legacy = Vec::new();
    let mut dropped_blobs: HashSet<String> = HashSet::new();
    let mut available: Vec<String> = blobs.keys().cloned().collect();
    available.sort();
    let mut missing = Vec::new();

    for (name, shape) in net_inputs(net)? {
        let id = b.new_value(&name, &name);
        b.graph.inputs.push((id, shape.clone()));
        declared.push(Some(shape));
        crop.push(None);
    }

    for l in layers {
        let (name, ty) = (l.name(), l.r#type());
        if !super::prototxt::in_phase(l, Phase::Test) {
            continue;
        }
        if TRAINING_ONLY.contains(&ty) {
            notes.push(format!("dropped training layer '{name}' ({ty})"));
            dropped_blobs.extend(l.top.iter().cloned());
            continue;
        }
        if ty == "Input" || DATA_LAYERS.contains(&ty) {
            let shapes = l.input_param.clone().unwrap_or_default().shape;
            for (i, top) in l.top.iter().enumerate() {
                if ty != "Input" && i > 0 {
                    dropped_blobs.insert(top.clone());
                    continue;
                }
                let id = b.new_value(top, top);
                let shape = if ty == "Input" {
                    match shapes.get(i).or(shapes.first()) {
                        Some(s) => Some(shape_of(&s.dim, &format!("input layer '{name}'"))?),
                        None => bail!(model, "input layer '{name}' declares no shape"),
                    }
                } else {
                    notes.push(format!("replaced data layer '{name}' ({ty}) with input '{top}' at batch 1"));
                    let tp = l.transform_param.clone().unwrap_or_default();
                    transform = Transform {
                        scale: tp.scale.filter(|&s| s != 1.0),
                        mean_values: tp.mean_value.clone(),
                        mean_file: tp.mean_file.clone(),
                        crop_size: tp.crop_size.filter(|&c| c > 0).map(|c| c as usize),
                    };
                    crop.push(transform.crop_size);
                    data_layer_shape(l)
                };
                if ty == "Input" {
                    crop.push(None);
                }
                b.graph.inputs.push((id, shape.clone().unwrap_or_default()));
                declared.push(shape);
            }
            continue;
        }
        if let Some(bad) = l.bottom.iter().find(|x| dropped_blobs.contains(*x)) {
            notes.push(format!("dropped layer '{name}' ({ty}): it reads '{bad}', which only training provides"));
            dropped_blobs.extend(l.top.iter().cloned());
            continue;
        }
        let op = op_for(l)?;
        let inputs = l
            .bottom
            .iter()
            .map(|x| {
                b.current.get(x).copied().ok_or_else(|| {
                    Error::model(format!(
                        "layer '{name}' ({ty}) reads blob '{x}', which no earlier layer or input produces"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if inputs.is_empty() {
            bail!(model, "layer '{name}' ({ty}) has no bottom blob");
        }
        if l.top.is_empty() {
            bail!(model, "layer '{name}' ({ty}) has no top blob");
        }
        let outputs = if l.top.len() == 1 {
            vec![b.new_value(name, &l.top[0])]
        } else {
            l.top.iter().map(|t| b.new_value(&format!("{name}.{t}"), t)).collect()
        };
        let mut weights = Vec::new();
        let mut node_legacy = Vec::new();
        if has_weights(&op, inputs.len()) {
            match blobs.remove(name) {
                Some(stored) => {
                    for Blob { shape, legacy: lg, data } in stored {
                        weights.push(crate::ops::tensor(&shape, data));
                        node_legacy.push(lg);
                    }
                }
                None => missing.push(b.graph.nodes.len()),
            }
        }
        b.graph.nodes.push(Node { name: name.to_string(), type_name: ty.to_string(), op, inputs, outputs, weights });
        legacy.push(node_legacy);
    }
    if b.graph.inputs.is_empty() {
        bail!(model, "the net declares no input (no Input layer, data layer or `input:` field)");
    }
    if b.graph.nodes.is_empty() {
        bail!(model, "the net has no layers that compute anything");
    }
    Ok(Draft { graph: b.graph, legacy, declared, crop, notes, transform, missing, available })
}

impl Draft {
    /// Checks every node's weights against the shapes the net implies for these inputs.
    fn check(&self, input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<Vec<usize>>>> {
        let g = &self.graph;
        let mut shapes: Vec<Option<Vec<usize>>> = vec![None; g.values.len()];
        for ((id, _), s) in g.inputs.iter().zip(input_shapes) {
            shapes[*id] = Some(s.clone());
        }
        let mut expected_all = Vec::new();
        for (i, node) in g.nodes.iter().enumerate() {
            let ctx = format!("layer '{}' ({})", node.name, node.type_name);
            let ins: Vec<&[usize]> = node.inputs.iter().map(|&v| shapes[v].as_deref().unwrap()).collect();
            if self.missing.contains(&i) {
                bail!(
                    model,
                    "{ctx} has no weights in the weights file (layers with weights there: {})",
                    self.available.join(", ")
                );
            }
            let expected = match &node.op {
                _ if node.weights.is_empty() => vec![],
                // Two-bottom Scale: the bias has the second bottom's shape.
                Op::Scale(_) if ins.len() > 1 => vec![ins[1].to_vec()],
                op => op.weight_shapes(ins[0]).map_err(|e| e.context(&ctx))?,
            };
            if !node.weights.is_empty() {
                if node.weights.len() != expected.len() {
                    bail!(
                        model,
                        "{ctx}: the weights file has {} blobs for it, the prototxt implies {} ({})",
                        node.weights.len(),
                        expected.len(),
                        expected.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", ")
                    );
                }
                for (j, (w, want)) in node.weights.iter().zip(&expected).enumerate() {
                    let blob = Blob { shape: w.shape().to_vec(), legacy: self.legacy[i][j], data: vec![] };
                    if !blob.fits(want) {
                        bail!(
                            model,
                            "{ctx}: blob {j} has shape {} in the weights file, but the prototxt implies {}",
                            fmt_shape(w.shape()),
                            fmt_shape(want)
                        );
                    }
                }
            }
            let outs = node.op.output_shapes(&ins, node.outputs.len(), &node.weights).map_err(|e| e.context(&ctx))?;
            if outs.len() != node.outputs.len() {
                bail!(model, "{ctx} has {} top blobs, but a {} layer makes {}", node.outputs.len(), node.type_name, outs.len());
            }
            for (&v, s) in node.outputs.iter().zip(outs) {
                shapes[v] = Some(s);
            }
            expected_all.push(expected);
        }
        Ok(expected_all)
    }

    /// The first convolution reading `value` tells how many channels it has.
    fn channels_from_consumer(&self, value: ValueId) -> Option<usize> {
        self.graph.nodes.iter().find(|n| n.inputs.contains(&value)).and_then(|n| match &n.op {
            Op::Conv(c) => n.weights.first().map(|w| w.shape().get(1).copied().unwrap_or(1) * c.group),
            _ => None,
        })
    }

    /// Settles unknown input shapes, validates all weights and gives them the prototxt's shapes.
    pub fn finish(mut self) -> Result<(Graph, Vec<String>, Transform)> {
        const COMMON: &[usize] = &[32, 28, 224, 227, 299, 256, 64, 96, 128, 112, 48, 40, 24, 16];
        let mut shapes: Vec<Vec<usize>> = Vec::new();
        let mut unknown = Vec::new();
        for (i, d) in self.declared.iter().enumerate() {
            match d {
                Some(s) => {
                    let mut s = s.clone();
                    if !s.is_empty() {
                        s[0] = 1;
                    }
                    shapes.push(s)
                }
                None => {
                    unknown.push(i);
                    shapes.push(vec![])
                }
            }
        }
        for &i in &unknown {
            let id = self.graph.inputs[i].0;
            let name = self.graph.values[id].name.clone();
            let c = self.channels_from_consumer(id).unwrap_or(3);
            let sizes: Vec<usize> = match self.crop[i] {
                Some(c) => vec![c],
                None => COMMON.iter().copied().chain(1..=512).collect(),
            };
            let found = sizes.into_iter().find(|&s| {
                let mut trial = shapes.clone();
                trial[i] = vec![1, c, s, s];
                self.check(&trial).is_ok()
            });
            match found {
                Some(s) => {
                    shapes[i] = vec![1, c, s, s];
                    self.notes.push(format!("input '{name}' has no declared shape; assumed 1×{c}×{s}×{s}, the first size the net's weights accept"));
                }
                None => {
                    let mut trial = shapes.clone();
                    trial[i] = vec![1, c, 32, 32];
                    let why = self.check(&trial).err().map_or(String::new(), |e| format!(" (at 32×32: {e})"));
                    bail!(model, "input '{name}' has no declared shape and no square size up to 512 fits the net's weights{why}; give an Input layer with input_param")
                }
            }
        }
        let expected = self.check(&shapes)?;
        for (node, want) in self.graph.nodes.iter_mut().zip(expected) {
            for (w, s) in node.weights.iter_mut().zip(want) {
                if w.shape() != s.as_slice() {
                    let t = std::mem::take(w);
                    *w = t.into_shape_with_order(ndarray::IxDyn(&s)).expect("same element count");
                }
            }
        }
        for ((_, declared), s) in self.graph.inputs.iter_mut().zip(&shapes) {
            if declared.is_empty() {
                *declared = s.clone();
            }
        }
        Ok((self.graph, self.notes, self.transform))
    }
}
