//! ONNX: a ModelProto's graph with its initializers, mapped onto the engine's ops. Nodes whose inputs are
//! all constants are folded at load time; tensors keep their ONNX names.

pub mod proto;
pub mod stream;
mod tensor;

use super::{Model, Transform};
use crate::graph::{Graph, Node, Value, ValueId};
use crate::ops::{self, lrn::LrnRegion, Activation, Op, PoolKind};
use crate::{bail, Error, Result, Tensor};
use proto::{attribute_proto::AttributeType, AttributeProto, NodeProto, TensorProto};
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
    "Sigmoid",
    "Tanh",
    "LRN",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Reshape",
    "Flatten",
    "Softmax",
    "Concat",
    "Dropout",
    "Identity",
    "Constant",
];

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

fn pair(v: Option<Vec<i64>>, default: usize, what: &str, node: &str) -> Result<[usize; 2]> {
    match v.as_deref() {
        None => Ok([default; 2]),
        Some([a, b]) if *a >= 0 && *b >= 0 => Ok([*a as usize, *b as usize]),
        Some(other) => bail!(unsupported, "node '{node}': {what} {other:?} (only 2-D windows are supported)"),
    }
}

/// Explicit pads, or the SAME_UPPER / SAME_LOWER pads for this input size.
fn pads(
    a: &Attrs,
    node: &str,
    input: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<[usize; 4]> {
    match a.string("auto_pad").as_deref().unwrap_or("NOTSET") {
        "NOTSET" => match a.ints("pads").as_deref() {
            None => Ok([0; 4]),
            Some([t, l, b, r]) if [t, l, b, r].iter().all(|v| **v >= 0) => {
                Ok([*t as usize, *l as usize, *b as usize, *r as usize])
            }
            Some(other) => bail!(unsupported, "node '{node}': pads {other:?}"),
        },
        "VALID" => Ok([0; 4]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut p = [0; 4];
            for i in 0..2 {
                let len = input[2 + i];
                let out = len.div_ceil(stride[i]);
                let total = ((out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1).saturating_sub(len);
                let (small, big) = (total / 2, total - total / 2);
                (p[i], p[i + 2]) = if mode == "SAME_UPPER" { (small, big) } else { (big, small) };
            }
            Ok(p)
        }
        other => bail!(unsupported, "node '{node}': auto_pad {other}"),
    }
}

struct Reader {
    graph: Graph,
    ids: HashMap<String, ValueId>,
    shapes: HashMap<String, Vec<usize>>,
    constants: HashMap<String, Tensor>,
    opset: i64,
}

impl Reader {
    fn value(&mut self, name: &str) -> ValueId {
        self.graph.values.push(Value { name: name.to_string(), blob: name.to_string() });
        let id = self.graph.values.len() - 1;
        self.ids.insert(name.to_string(), id);
        id
    }

    fn constant(&self, name: &str, node: &str) -> Result<&Tensor> {
        self.constants.get(name).ok_or_else(|| {
            Error::unsupported(format!("node '{node}': input '{name}' must be a constant (an initializer)"))
        })
    }

    /// The engine op and the node's weights for one ONNX node.
    fn map(&self, n: &NodeProto, name: &str) -> Result<(Op, Vec<String>, Vec<Tensor>)> {
        let a = Attrs(&n.attribute);
        let inputs: Vec<&String> = n.input.iter().filter(|i| !i.is_empty()).collect();
        let first =
            inputs.first().map(|s| s.to_string()).ok_or_else(|| Error::model(format!("node '{name}' has no input")))?;
        let in_shape = self.shapes.get(&first).cloned().unwrap_or_default();
        let single = |op: Op| Ok((op, vec![first.clone()], vec![]));
        match n.op_type() {
            "Conv" => {
                let w = self.constant(inputs.get(1).map_or("", |s| s.as_str()), name)?.clone();
                let ws = w.shape().to_vec();
                if ws.len() != 4 {
                    bail!(
                        unsupported,
                        "node '{name}': only 2-D convolutions are supported (weights {})",
                        ops::fmt_shape(&ws)
                    );
                }
                let kernel = pair(a.ints("kernel_shape"), 0, "kernel_shape", name).map(|k| {
                    if k == [0, 0] {
                        [ws[2], ws[3]]
                    } else {
                        k
                    }
                })?;
                let stride = pair(a.ints("strides"), 1, "strides", name)?;
                let dilation = pair(a.ints("dilations"), 1, "dilations", name)?;
                let mut weights = vec![w];
                if let Some(b) = inputs.get(2) {
                    weights.push(self.constant(b, name)?.clone());
                }
                let op = Op::Conv(ops::Conv {
                    out_channels: ws[0],
                    kernel,
                    stride,
                    pads: pads(&a, name, &in_shape, kernel, stride, dilation)?,
                    dilation,
                    group: a.int("group", 1) as usize,
                    bias: weights.len() > 1,
                });
                Ok((op, vec![first], weights))
            }
            t @ ("MaxPool" | "AveragePool") => {
                let kernel = pair(a.ints("kernel_shape"), 0, "kernel_shape", name)?;
                let stride = pair(a.ints("strides"), 1, "strides", name)?;
                if a.ints("dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
                    bail!(unsupported, "node '{name}': dilated pooling");
                }
                single(Op::Pool(ops::Pool {
                    kind: if t == "MaxPool" { PoolKind::Max } else { PoolKind::Average },
                    kernel,
                    stride,
                    pads: pads(&a, name, &in_shape, kernel, stride, [1, 1])?,
                    ceil: a.int("ceil_mode", 0) != 0,
                    global: false,
                    count_include_pad: a.int("count_include_pad", 0) != 0,
                }))
            }
            t @ ("GlobalAveragePool" | "GlobalMaxPool") => single(Op::Pool(ops::Pool {
                kind: if t == "GlobalMaxPool" { PoolKind::Max } else { PoolKind::Average },
                kernel: [1, 1],
                stride: [1, 1],
                pads: [0; 4],
                ceil: false,
                global: true,
                count_include_pad: false,
            })),
            "Relu" => single(Op::Activation(Activation::Relu { negative_slope: 0.0 })),
            "LeakyRelu" => single(Op::Activation(Activation::Relu { negative_slope: a.float("alpha", 0.01) })),
            "Sigmoid" => single(Op::Activation(Activation::Sigmoid)),
            "Tanh" => single(Op::Activation(Activation::Tanh)),
            "LRN" => single(Op::Lrn(ops::Lrn {
                size: a.int("size", 1) as usize,
                alpha: a.float("alpha", 1e-4),
                beta: a.float("beta", 0.75),
                k: a.float("bias", 1.0),
                region: LrnRegion::AcrossChannels,
            })),
            "Dropout" | "Identity" => single(Op::Identity),
            "Softmax" => {
                let default = if self.opset >= 13 { -1 } else { 1 };
                let axis = a.int("axis", default);
                if self.opset < 13 && in_shape.len() > 2 && axis != in_shape.len() as i64 - 1 {
                    bail!(
                        unsupported,
                        "node '{name}': Softmax before opset 13 over {}-D input flattens from axis {axis}",
                        in_shape.len()
                    );
                }
                single(Op::Softmax(ops::Softmax { axis }))
            }
            "Flatten" => match a.int("axis", 1) {
                1 => single(Op::Flatten(ops::Flatten { axis: 1, end_axis: -1 })),
                axis => bail!(unsupported, "node '{name}': Flatten at axis {axis} (axis 1 is supported)"),
            },
            "Concat" => {
                let ids: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
                Ok((Op::Concat(ops::Concat { axis: a.int("axis", 1) }), ids, vec![]))
            }
            "Reshape" => {
                let shape = self.constant(inputs.get(1).map_or("", |s| s.as_str()), name)?;
                if a.int("allowzero", 0) != 0 {
                    bail!(unsupported, "node '{name}': Reshape with allowzero");
                }
                single(Op::Reshape(ops::Reshape {
                    dims: shape.iter().map(|&v| v as i64).collect(),
                    axis: 0,
                    num_axes: -1,
                }))
            }
            "MatMul" => match (self.constants.get(inputs[1].as_str()), inputs.len()) {
                (Some(b), _) => Ok((Op::MatMul(ops::MatMul), vec![first], vec![b.clone()])),
                (None, 2) => Ok((Op::MatMul(ops::MatMul), vec![first, inputs[1].to_string()], vec![])),
                _ => bail!(model, "node '{name}': MatMul needs two inputs"),
            },
            t @ ("Add" | "Sub" | "Mul" | "Div") => {
                let kind = match t {
                    "Add" => ops::BinaryKind::Add,
                    "Sub" => ops::BinaryKind::Sub,
                    "Mul" => ops::BinaryKind::Mul,
                    _ => ops::BinaryKind::Div,
                };
                if inputs.len() != 2 {
                    bail!(model, "node '{name}': {t} needs two inputs");
                }
                let (l, r) = (self.constants.get(inputs[0].as_str()), self.constants.get(inputs[1].as_str()));
                Ok(match (l, r) {
                    (Some(c), None) => (
                        Op::Binary(ops::Binary { kind, constant_left: true }),
                        vec![inputs[1].to_string()],
                        vec![c.clone()],
                    ),
                    (None, Some(c)) => {
                        (Op::Binary(ops::Binary { kind, constant_left: false }), vec![first], vec![c.clone()])
                    }
                    _ => (
                        Op::Binary(ops::Binary { kind, constant_left: false }),
                        vec![first, inputs[1].to_string()],
                        vec![],
                    ),
                })
            }
            other => bail!(unsupported, "{other}"),
        }
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
    let mut r = Reader {
        graph: Graph { name: g.name().to_string(), ..Graph::default() },
        ids: HashMap::new(),
        shapes: HashMap::new(),
        constants: HashMap::new(),
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
                        Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => v as usize,
                        _ => 1,
                    })
                    .collect()
            })
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
            let a = Attrs(&n.attribute);
            let t = a
                .tensor("value")
                .ok_or_else(|| Error::unsupported(format!("node '{name}': Constant without a tensor value")))?;
            r.constants.insert(n.output[0].clone(), tensor_values(t)?);
            continue;
        }
        let (op, ins, weights) = match r.map(n, &name) {
            Ok(m) => m,
            Err(e) if e.kind == crate::error::ErrorKind::Unsupported && !e.message.contains(':') => {
                unsupported.push(format!("{} (node '{name}')", e.message));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !unsupported.is_empty() {
            continue;
        }
        // All inputs constant: fold now.
        if ins.iter().all(|i| r.constants.contains_key(i)) {
            let vals: Vec<&Tensor> = ins.iter().map(|i| &r.constants[i]).collect();
            let out = op
                .forward(&vals, &weights, n.output.len())
                .map_err(|e| e.context(format!("node '{name}' ({})", n.op_type())))?;
            for (o, t) in n.output.iter().zip(out.tensors) {
                r.constants.insert(o.clone(), t);
            }
            continue;
        }
        let inputs = ins
            .iter()
            .map(|i| {
                r.ids
                    .get(i)
                    .copied()
                    .ok_or_else(|| Error::model(format!("node '{name}' reads '{i}', which nothing produces")))
            })
            .collect::<Result<Vec<_>>>()?;
        let in_shapes: Vec<Vec<usize>> = inputs.iter().map(|&v| r.shapes[&r.graph.values[v].name].clone()).collect();
        let refs: Vec<&[usize]> = in_shapes.iter().map(|s| s.as_slice()).collect();
        let outs = op
            .output_shapes(&refs, n.output.len(), &weights)
            .map_err(|e| e.context(format!("node '{name}' ({})", n.op_type())))?;
        let outputs: Vec<ValueId> = n.output.iter().take(1).map(|o| r.value(o)).collect();
        if n.output.len() > 1 {
            notes.push(format!("node '{name}' ({}): only its first output is kept", n.op_type()));
        }
        r.shapes.insert(n.output[0].clone(), outs[0].clone());
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
    Ok(Model { graph: r.graph, format: format!("ONNX (opset {opset})"), notes, transform: Transform::default() })
}
