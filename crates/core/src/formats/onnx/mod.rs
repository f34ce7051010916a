//! ONNX: a ModelProto's graph with its initializers, mapped onto the engine's ops. Nodes whose inputs are
//! all constants are folded at load time; tensors keep their ONNX names.

mod nodes;
pub mod proto;
pub mod stream;
mod tensor;

use super::{Model, Transform};
use crate::graph::{Graph, Node, Value, ValueId};
use crate::ops;
use crate::{bail, Error, Result, Tensor};
use proto::{attribute_proto::AttributeType, AttributeProto, TensorProto};
use std::collections::HashMap;
use tensor::{dims, raw_values, tensor_values};

/// ONNX operators this reader maps.
pub const SUPPORTED: &[&str] = &[
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Sigmoid",
    "Tanh",
    "Clip",
    "HardSigmoid",
    "HardSwish",
    "LRN",
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "BatchNormalization",
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Concat",
    "Pad",
    "Resize",
    "Upsample",
    "Softmax",
    "Dropout",
    "Identity",
    "Constant",
];

/// A Constant node's value: `value`, `value_float(s)` or `value_int(s)`.
fn constant_value(a: &Attrs, node: &str) -> Result<Tensor> {
    if let Some(t) = a.tensor("value") {
        return tensor_values(t).map_err(|e| e.context(format!("node '{node}'")));
    }
    let vector = |v: Vec<f32>| ops::tensor(&[v.len()], v);
    Ok(if a.get("value_float").is_some() {
        ops::tensor(&[], vec![a.float("value_float", 0.0)])
    } else if let Some(v) = a.get("value_floats") {
        vector(v.floats.clone())
    } else if a.get("value_int").is_some() {
        ops::tensor(&[], vec![a.int("value_int", 0) as f32])
    } else if let Some(v) = a.ints("value_ints") {
        vector(v.iter().map(|&v| v as f32).collect())
    } else {
        let which = a.0.first().map_or("without a value".to_string(), |x| format!("with {}", x.name()));
        bail!(unsupported, "node '{node}': Constant {which} is not supported (value, value_float(s), value_int(s) are)")
    })
}

struct Attrs<'a>(&'a [AttributeProto]);

impl Attrs<'_> {
    fn get(&self, name: &str) -> Option<&AttributeProto> {
        self.0.iter().find(|a| a.name() == name)
    }
    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }
    fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).and_then(|a| a.i).unwrap_or(default)
    }
    /// A count that must be at least 1 (a group, a window size).
    fn positive(&self, name: &str, default: i64, node: &str) -> Result<usize> {
        match self.int(name, default) {
            v @ 1.. => usize::try_from(v).map_err(|_| Error::model(format!("node '{node}': {name} {v} is too large"))),
            v => bail!(model, "node '{node}': {name} must be at least 1, got {v}"),
        }
    }
    fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).and_then(|a| a.f).unwrap_or(default)
    }
    fn string(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).into_owned())
    }
    fn tensor(&self, name: &str) -> Option<&TensorProto> {
        self.get(name).filter(|a| a.r#type() == AttributeType::Tensor).and_then(|a| a.t.as_ref())
    }
}

struct Reader {
    graph: Graph,
    ids: HashMap<String, ValueId>,
    shapes: HashMap<String, Vec<usize>>,
    constants: HashMap<String, Tensor>,
    /// How many node inputs still read each name: a constant moves out of the table at its last use.
    uses: HashMap<String, usize>,
    opset: i64,
}

impl Reader {
    fn value(&mut self, name: &str) -> ValueId {
        self.graph.values.push(Value { name: name.to_string(), blob: name.to_string() });
        let id = self.graph.values.len() - 1;
        self.ids.insert(name.to_string(), id);
        id
    }

    fn is_constant(&self, name: &str) -> bool {
        self.constants.contains_key(name)
    }

    /// The shape of a value or of a constant (empty when unknown).
    fn shape_of(&self, name: &str) -> Vec<usize> {
        match (self.shapes.get(name), self.constants.get(name)) {
            (Some(s), _) => s.clone(),
            (None, Some(t)) => t.shape().to_vec(),
            _ => vec![],
        }
    }

    /// A constant input for one use: moved out of the table at its last use, copied before.
    fn take(&mut self, name: &str, node: &str) -> Result<Tensor> {
        if !self.constants.contains_key(name) {
            bail!(unsupported, "node '{node}': input '{name}' must be a constant (an initializer)");
        }
        let left = self.uses.entry(name.to_string()).or_insert(1);
        *left = left.saturating_sub(1);
        Ok(if *left == 0 { self.constants.remove(name).unwrap() } else { self.constants[name].clone() })
    }
}

/// Loads a binary .onnx model held in memory.
pub fn load(bytes: &[u8]) -> Result<Model> {
    let mut reader = stream::Reader::new(Some(bytes.len() as u64));
    reader.push(bytes)?;
    reader.finish()
}

/// Builds the model from a decoded ModelProto. `tensors` holds initializers already decoded elsewhere (a
/// streaming reader); they take the place of the TensorProto's own data.
pub fn from_proto(model: proto::ModelProto, mut tensors: HashMap<String, Tensor>) -> Result<Model> {
    let Some(g) = model.graph.as_ref() else { bail!(format, "the .onnx file holds no graph") };
    let opset = model.opset_import.iter().find(|o| o.domain().is_empty()).map_or(1, |o| o.version());
    let mut uses = HashMap::new();
    for i in g.node.iter().flat_map(|n| &n.input).filter(|i| !i.is_empty()) {
        *uses.entry(i.clone()).or_insert(0) += 1;
    }
    let mut r = Reader {
        graph: Graph { name: g.name().to_string(), ..Graph::default() },
        ids: HashMap::new(),
        shapes: HashMap::new(),
        constants: HashMap::new(),
        uses,
        opset,
    };
    for t in &g.initializer {
        let value = match tensors.remove(t.name()) {
            Some(v) => v,
            None => tensor_values(t).map_err(|e| e.context(format!("initializer '{}'", t.name())))?,
        };
        r.constants.insert(t.name().to_string(), value);
    }
    let mut notes = Vec::new();
    let fed: Vec<_> = g.input.iter().filter(|i| !r.constants.contains_key(i.name())).collect();
    for i in fed {
        let dims: Vec<usize> = i
            .r#type
            .as_ref()
            .and_then(|t| match &t.value {
                Some(proto::type_proto::Value::TensorType(tt)) => tt.shape.as_ref(),
                _ => None,
            })
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) => match usize::try_from(v) {
                            Ok(v @ 1..) => Ok(v),
                            _ => bail!(model, "input '{}' declares a dimension of {v}", i.name()),
                        },
                        // A named (symbolic) or unknown dimension: the batch, or a free size.
                        _ => Ok(1),
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        if dims.is_empty() {
            bail!(model, "input '{}' declares no shape", i.name());
        }
        let id = r.value(i.name());
        r.shapes.insert(i.name().to_string(), dims.clone());
        r.graph.inputs.push((id, dims));
    }
    if r.graph.inputs.is_empty() {
        bail!(model, "the graph has no input that is not an initializer");
    }
    let mut unsupported = Vec::new();
    for (k, n) in g.node.iter().enumerate() {
        let name = if n.name().is_empty() {
            n.output.first().cloned().unwrap_or_else(|| format!("node {k}"))
        } else {
            n.name().to_string()
        };
        if n.op_type() == "Constant" {
            let value = constant_value(&Attrs(&n.attribute), &name)?;
            r.constants.insert(n.output[0].clone(), value);
            continue;
        }
        // Past an operator zfvis cannot run, inputs may be missing: only unknown operators are collected.
        if !unsupported.is_empty() && !SUPPORTED.contains(&n.op_type()) {
            unsupported.push(format!("{} (node '{name}')", n.op_type()));
            continue;
        }
        let (op, ins, weights) = match r.map(n, &name) {
            Ok(m) => m,
            Err(e) if e.kind == crate::error::ErrorKind::Unsupported && !e.message.contains(':') => {
                unsupported.push(format!("{} (node '{name}')", e.message));
                continue;
            }
            // Downstream of an operator zfvis cannot run: only the operators are reported.
            Err(_) if !unsupported.is_empty() => continue,
            Err(e) => return Err(e),
        };
        if !unsupported.is_empty() {
            continue;
        }
        let context = |e: Error| e.context(format!("node '{name}' ({})", n.op_type()));
        // Trailing optional outputs left unnamed are not produced.
        let n_outputs = n.output.iter().rposition(|o| !o.is_empty()).map_or(0, |i| i + 1);
        // All inputs constant: fold now.
        if ins.iter().all(|i| r.is_constant(i)) {
            let vals = ins.iter().map(|i| r.take(i, &name)).collect::<Result<Vec<_>>>()?;
            let out = op.forward(&vals.iter().collect::<Vec<_>>(), &weights, n_outputs).map_err(context)?;
            for (o, t) in n.output.iter().zip(out.tensors) {
                r.constants.insert(o.clone(), t);
            }
            continue;
        }
        let inputs = ins
            .iter()
            .map(|i| match r.ids.get(i) {
                Some(&id) => Ok(id),
                None if r.is_constant(i) => Err(Error::unsupported(format!(
                    "node '{name}' ({}): input '{i}' is a constant, which zfvis takes only as weights here",
                    n.op_type()
                ))),
                None => Err(Error::model(format!("node '{name}' reads '{i}', which nothing before it produces"))),
            })
            .collect::<Result<Vec<_>>>()?;
        let in_shapes: Vec<Vec<usize>> = inputs.iter().map(|&v| r.shapes[&r.graph.values[v].name].clone()).collect();
        let refs: Vec<&[usize]> = in_shapes.iter().map(|s| s.as_slice()).collect();
        let outs = op.output_shapes(&refs, n_outputs, &weights).map_err(context)?;
        if n_outputs > outs.len() {
            notes.push(format!("node '{name}' ({}): only its first {} output(s) are kept", n.op_type(), outs.len()));
        }
        let mut outputs = Vec::new();
        for (k, shape) in outs.into_iter().enumerate() {
            // A node may name fewer outputs than its op makes (even none): the rest get made-up names.
            let o = match n.output.get(k) {
                Some(o) if !o.is_empty() => o.clone(),
                _ => format!("{name}:{k}"),
            };
            outputs.push(r.value(&o));
            r.shapes.insert(o, shape);
        }
        r.graph.nodes.push(Node { name, type_name: n.op_type().to_string(), op, inputs, outputs, weights });
    }
    if !unsupported.is_empty() {
        bail!(
            unsupported,
            "the model uses operators zfvis does not run: {}. Supported: {}",
            unsupported.join(", "),
            SUPPORTED.join(", ")
        );
    }
    if r.graph.nodes.is_empty() {
        bail!(model, "the graph computes nothing from its inputs");
    }
    if let Some(o) = g.output.iter().find(|o| !r.ids.contains_key(o.name()) && !r.constants.contains_key(o.name())) {
        bail!(model, "the graph's output '{}' is produced by no node", o.name());
    }
    r.graph.prepare();
    Ok(Model { graph: r.graph, format: format!("ONNX (opset {opset})"), notes, transform: Transform::default() })
}
